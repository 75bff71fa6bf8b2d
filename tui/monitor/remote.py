"""A run in another process, as the monitor sees it: the app's TrainerLike over the run's event log and
control socket (fmtui.core.live), so the widgets receive the same fmtui.core.engine.events either way.

A watcher thread replays the log from its start (the run's history appears at once), then follows it
as it grows, the way a log viewer follows a file. It ends with the run's final event, or with a
RunFailed of its own when the run's process is gone without one (its lock is free), or when the run
directory disappears. Requests go over the socket and are acknowledged at once; their effect arrives,
as for a run in this process, as events (Paused, Resumed, StopRequested).

The log leaves the images out (DataLoaded is local to the training process), so a second thread reads
them from the data the run recorded and sends the same DataLoaded, or DataUnavailable saying why.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fmtui.core.engine.events import (
    BatchEnded,
    DataLoaded,
    DataUnavailable,
    EpochEnded,
    Event,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
    Subscriber,
)
from fmtui.core.errors import FmtuiError
from fmtui.core.live.control_client import send
from fmtui.core.live.event_log import EVENTS_NAME, EventTail
from fmtui.core.records.lock import is_live, locked_at
from fmtui.core.records.run_dir import RunRecord


@dataclass(frozen=True)
class ReplayedBatch(BatchEnded):
    """Batch progress from the log's backlog: shown point by point (the app coalesces only live progress,
    which would otherwise leave one point of the current epoch's batch-loss curve)."""


def replayable(events: list[Event]) -> list[Event]:
    """The backlog read on attaching, trimmed for the app: batch progress of finished epochs is left out
    (the views keep only the current epoch's), the rest marked as replayed."""
    ended = {event.epoch for event in events if isinstance(event, EpochEnded)}
    return [ReplayedBatch(**vars(event)) if isinstance(event, BatchEnded) else event
            for event in events if not (isinstance(event, BatchEnded) and event.epoch in ended)]


POLL_SECONDS = 0.2  # how often the log is looked at: live progress shows within a second
GONE_GRACE_SECONDS = 2.0  # a free lock without a final event, this long, means the process is gone


class AttachedTrainer:
    """A live run in another process, watched through its event log and steered through its socket."""

    attached = True  # the app leaves such a run going when it quits, and never stops it on the way out

    def __init__(self, run_dir: Path, poll: float = POLL_SECONDS, grace: float = GONE_GRACE_SECONDS) -> None:
        self.run_dir = Path(run_dir)
        self.poll, self.grace = poll, grace
        self._subscribers: list[Subscriber] = []
        self._thread: threading.Thread | None = None
        self._leaving = threading.Event()
        self._paused = False
        self._outcome: Event | None = None
        self._images: DataLoaded | DataUnavailable | None = None  # once read, sent after each RunStarted
        self._reading: threading.Thread | None = None

    # --- TrainerLike --------------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="fmtui-attached", daemon=True)
        self._thread.start()

    def pause(self) -> bool:
        """ControlError (the monitor shows it) when the run cannot pause: it is testing, or stopping."""
        changed = send(self.run_dir, "pause") == "ok"
        self._paused = True  # paused, or the Paused event follows when the run reaches a batch boundary
        return changed

    def resume(self) -> bool:
        changed = send(self.run_dir, "resume") == "ok"
        self._paused = False  # resumed, or it was not paused
        return changed

    def stop(self, reason: str = "stopped") -> None:
        """Ask the run to stop (its best weights are tested and its record completed). An interrupt of
        this process is no reason to end a run it does not own: only "stopped" is sent."""
        if reason == "stopped":
            send(self.run_dir, "stop")  # "unchanged" too: it is stopping already, as asked

    def hurry(self) -> bool:
        return True  # nothing of the run is in this process: it may leave at once

    def wait(self, timeout: float | None = None) -> Event | None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        return self._outcome

    def detach(self) -> None:
        """Stop following the run; the run goes on."""
        self._leaving.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the watcher thread --------------------------------------------------------------------------

    def _publish(self, event: Event) -> None:
        if isinstance(event, Paused):
            self._paused = True
        elif isinstance(event, (Resumed, StopRequested)):
            self._paused = False
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # one broken subscriber must not stop the others (as core's EventBus)
                pass
        if isinstance(event, RunStarted):  # the views start afresh: they get the images again
            if self._images is not None:
                self._publish(self._images)
            elif self._reading is None:
                self._reading = threading.Thread(target=self._read_images, args=(event.config,),
                                                 name="fmtui-attached-images", daemon=True)
                self._reading.start()

    def _read_images(self, config: dict) -> None:
        """On its own thread (a second or so): the run's images, as the training process sent them."""
        from fmtui.core.config.settings import TrainConfig
        from fmtui.core.engine.reports import recorded_data  # late: torch loads with it

        try:
            images = recorded_data(self.run_dir, TrainConfig.from_dict(config, f"{self.run_dir} (events)"))
        except FmtuiError as exc:  # the log's config does not fit this fmtui
            images = DataUnavailable(f"its settings cannot be read here: {exc}")
        self._images = images
        if not self._leaving.is_set():
            self._publish(images)

    def _watch(self) -> None:
        tail = EventTail(self.run_dir / EVENTS_NAME)
        gone_since: float | None = None
        backlog = True
        held: list[Event] = []  # an earlier attempt's log, while a resume of the run loads its data
        held_from: tuple[int, int] | None = None
        while not self._leaving.is_set():
            try:
                events = tail.read()
                if held and tail.identity != held_from:
                    held = []  # the resume's own log has replaced it
                if any(isinstance(e, (RunFinished, RunFailed)) for e in events) and \
                        self._earlier_attempt(tail.modified_ns):
                    # A complete log older than the lock's holder: the previous attempt's, not this run's
                    # to show (it ends stopped). Kept in case the resume ends before it writes its own.
                    held, held_from, events = held + events, tail.identity, []
                elif held and is_live(self.run_dir) is not True:
                    events, held = held + events, []  # it did: the earlier log is the record's last word
                if backlog and events:
                    events, backlog = replayable(events), False
            except FileNotFoundError:  # not written yet (the run is loading its data), or deleted
                events = []
                if not self.run_dir.is_dir():
                    return self._end(f"The run directory {self.run_dir} was deleted while this monitor "
                                     f"watched it; nothing of the run is left to show.", None)
            except OSError as exc:
                return self._end(f"The run's event log {tail.path} cannot be read: {exc.strerror or exc}.",
                                 str(self.run_dir))
            for event in events:
                self._publish(event)
                if isinstance(event, (RunFinished, RunFailed)):
                    self._outcome = event
                    return
            if is_live(self.run_dir) is False:
                # The process writes its last event before it frees the lock; give a reader that just
                # missed it one more look before calling the process gone.
                gone_since = gone_since if gone_since is not None else time.monotonic()
                if time.monotonic() - gone_since >= self.grace:
                    return self._end(self._gone_message(), str(self.run_dir))
            else:
                gone_since = None
            self._leaving.wait(self.poll)

    def _earlier_attempt(self, written_ns: int | None) -> bool:
        """Whether a log last written at ``written_ns`` was written before the run's lock was last taken,
        while it is held: by an earlier process of the run (a resume makes its own log once its data has
        loaded; the process that writes a log took the lock before it)."""
        taken = locked_at(self.run_dir)
        return (taken is not None and written_ns is not None and written_ns < taken
                and is_live(self.run_dir) is True)

    def _end(self, message: str, run_dir: str | None) -> None:
        event = RunFailed(message, True, run_dir)
        self._outcome = event
        self._publish(event)

    def _gone_message(self) -> str:
        try:
            epochs = RunRecord(self.run_dir).read_summary().epochs
        except FmtuiError:
            epochs = None
        kept = f"its record keeps {epochs} complete epoch{'s' * (epochs != 1)}" if epochs is not None \
            else "its record keeps its last complete epoch"
        resume = "r lists it, and r there resumes it" if epochs else "there is nothing to resume"
        return (f"The run's process is gone without finishing (killed, out of memory, or the machine "
                f"restarted): {kept}; {resume}. {self.run_dir}")
