"""A run served to other processes: its event log and its control socket, attached to a trainer by the
faces that want them (`fmtui train`, the monitor, a sweep shown in the monitor).

    trainer = serve(Trainer(config, ...))   # before trainer.start()

A trainer with nothing attached (a headless sweep's trial, a benchmark, a test) writes neither file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fmtui.core.engine.bus import EventBus
from fmtui.core.engine.events import Event
from fmtui.core.live.control_socket import ControlServer, trainer_handlers
from fmtui.core.live.event_log import BATCH_INTERVAL, EventLog

if TYPE_CHECKING:
    from fmtui.core.engine.trainer import Trainer

FINAL_EVENT_SECONDS = 5.0  # how long the end of a run waits for its last event to reach the log


class LiveRun:
    """The trainer's attachment (fmtui.core.engine.trainer.Attachment) for events.jsonl and control.sock.

    The log has an event bus of its own: a subscriber stuck on the trainer's bus (a terminal on hold)
    never delays the viewers following the log."""

    def __init__(self, batch_interval: float = BATCH_INTERVAL) -> None:
        self.log = EventLog(batch_interval)
        self._bus = EventBus()
        self._bus.subscribe(self.log)
        self._server: ControlServer | None = None

    def publish(self, event: Event) -> None:
        self._bus.publish(event)

    def record_begun(self, run_dir: Path, trainer: Trainer) -> None:
        server = ControlServer(run_dir, trainer_handlers(trainer))  # each answer says what the request did
        try:
            server.start()
        except OSError:
            return  # a file system without sockets: the run goes on, controlled from this process only
        self._server = server

    def run_ended(self) -> None:
        if self._server is not None:
            self._server.close()
        # Viewers take a free lock without a final event in the log for a killed process: the final event
        # goes into the log before the trainer frees the lock (bounded: a stuck disk must not keep it).
        self.log.done.wait(FINAL_EVENT_SECONDS)
        self._bus.close(timeout=1.0)


def serve(trainer: Trainer) -> Trainer:
    """``trainer``, writing its event log and serving its control socket from when its record begins."""
    trainer.attach(LiveRun())
    return trainer
