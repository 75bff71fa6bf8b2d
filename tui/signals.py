"""The signals that end a run cleanly, saved as interrupted: in headless mode and in the monitor alike.

The first signal asks the run to stop and save itself; any later one asks it to hurry (give up the
epoch or evaluation in progress). Neither handler raises: an exception raised on the main thread
while the trainer thread is inside torch ends the process in an abort ("terminate called without
an active exception", exit 134) with the record half-written. The process leaves early, with
os._exit, only when no record is being written; otherwise it waits for the trainer, which is
prompt once hurried. The exit code is 128 + the first signal received.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

# Ctrl-C, `kill`, and the SSH connection dropping (SIGHUP, which Windows does not have).
HANDLED_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)

_settled = False  # a run's outcome is recorded: a signal now changes nothing and is ignored


def exit_on_signals() -> None:
    """Before any run exists (arguments being read, torch importing) a signal just ends the process,
    quietly, with 128+N: there is nothing to save yet."""

    def leave(signum: int, frame: FrameType | None) -> None:
        if not _settled:
            raise SystemExit(128 + signum)

    for s in HANDLED_SIGNALS:
        signal.signal(s, leave)


class Interrupts:
    """While a run is going: ``stop(signum)`` on the first signal, ``hurry()`` on each later one; when
    ``hurry`` answers True (nothing is being written) the process exits at once.

        with Interrupts(stop=lambda s: trainer.stop("interrupted"), hurry=trainer.hurry) as interrupts:
            ...wait for the run...
        interrupts.code   # 128 + the first signal, or None
    """

    def __init__(self, stop: Callable[[int], None], hurry: Callable[[], bool]) -> None:
        self.stop, self.hurry = stop, hurry
        self.received: list[int] = []
        self._previous: dict[int, object] = {}

    @property
    def code(self) -> int | None:
        return 128 + self.received[0] if self.received else None

    def __enter__(self) -> Interrupts:
        self._previous = {s: signal.signal(s, self._handle) for s in HANDLED_SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _settled
        _settled = True
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            self.stop(signum)
        elif self.hurry():
            leave_now(128 + self.received[0])


def leave_now(code: int) -> None:
    """Exit without the interpreter's shutdown (which would wait on, or abort in, the trainer thread)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
