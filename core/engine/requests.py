"""Requests to a running trainer from other threads: pause, stop, hurry (a second interrupt) and fail.

They are honoured on the worker thread at batch boundaries and between evaluation batches. The
states a request can meet (data loading, recording, outcome sealed) live here too, so that a signal
arriving at any moment gets one consistent answer.
"""

from __future__ import annotations

import threading

from fmtui.core.errors import FmtuiError
from fmtui.core.records.status import RunStatus


class Control:
    """Requests from other threads (pause, stop, hurry, fail), honoured at batch boundaries.

    Never called from a signal handler (which could interrupt a call here on its own thread and wait
    for a lock that thread holds): signals reach it through fmtui.tui.cli.signals' relay thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.stop_reason: RunStatus | None = None  # stopped, interrupted or pruned: how the run will end
        self.hurry = False  # a second interrupt: abandon the epoch or evaluation in progress
        self.error: FmtuiError | None = None  # raised on the worker thread at its next check
        self._recording = False  # the record has been begun: the process must let the trainer finish it
        self._abandoned = False  # the process is leaving without the trainer: it must not begin a record
        self._sealed = False  # the outcome is decided; requests change nothing any more
        self._pausable = True  # training batches (or the pause before the test) are still ahead

    def pause(self) -> bool:
        """True when the run will pause: at its next training batch, or before its test where the last
        epoch is being validated; False when it is paused already, stopping, or testing."""
        with self._lock:
            if self.stop_reason or not self._pausable or not self._unpaused.is_set():
                return False
            self._unpaused.clear()
            return True

    def resume(self) -> bool:
        with self._lock:
            if self._unpaused.is_set():
                return False
            self._unpaused.set()
            return True

    def stop(self, reason: RunStatus) -> bool:
        """True when this request changes how the run ends (the first, or an interrupt after a stop)."""
        with self._lock:
            if self._sealed or self.stop_reason == reason or self.stop_reason == RunStatus.INTERRUPTED:
                return False
            self.stop_reason = reason  # an interrupt outranks a plain stop: the process is about to go away
            self._unpaused.set()
            return True

    def rush(self) -> bool:
        """A second interrupt. True when no record has been begun, so the process may leave at once."""
        with self._lock:
            self.hurry = True
            self.stop_reason = self.stop_reason if self._sealed else RunStatus.INTERRUPTED
            self._unpaused.set()
            if not self._recording:
                self._abandoned = True
            return self._abandoned

    def fail(self, error: FmtuiError) -> None:
        with self._lock:
            if not self._sealed and self.error is None:
                self.error = error
                self._unpaused.set()

    def end_training(self) -> bool:
        """On the worker thread, past the last training batch: True when a pause was granted that no batch
        is left to honour (asked for during the last validation); no later pause is granted."""
        with self._lock:
            self._pausable = False
            return not self._unpaused.is_set()

    def check(self) -> None:
        """On the worker thread: raise the failure another thread reported."""
        if self.error is not None:
            raise self.error

    def begin_recording(self) -> bool:
        """On the worker thread, before the record is first written: False when a stop came first
        (nothing was trained, so nothing is recorded)."""
        with self._lock:
            self.check()
            if self.stop_reason or self._abandoned:
                return False
            self._recording = True
            return True

    def seal(self) -> RunStatus | None:
        """On the worker thread, as the outcome is decided: the stop reason it must reflect."""
        with self._lock:
            self._sealed = True
            return self.stop_reason

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    def wait_until_unpaused(self) -> None:
        self._unpaused.wait()
