"""A run as the monitor holds it: its number, its config and the trainer behind it, in this process
(fmtui.core.engine.trainer.Trainer) or in another one (fmtui.tui.monitor.remote.AttachedTrainer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Subscriber
from fmtui.core.records.run_dir import RunRecord


class TrainerLike(Protocol):
    """What the app needs of fmtui.core.engine.trainer.Trainer (tests pass a scripted stand-in)."""

    def subscribe(self, subscriber: Subscriber) -> None: ...
    def start(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self, reason: str = "stopped") -> None: ...
    def hurry(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> object: ...
    @property
    def paused(self) -> bool: ...
    @property
    def running(self) -> bool: ...


@dataclass
class Run:
    number: int
    config: TrainConfig
    trainer: TrainerLike
    stopping: bool = False
    ended: bool = False  # its RunFinished or RunFailed has been handled: the record is complete

    @property
    def attached(self) -> bool:
        """The run is in another process (fmtui.tui.monitor.remote): leaving the monitor leaves it going."""
        return getattr(self.trainer, "attached", False)

    @property
    def replayed(self) -> bool:
        """A past run shown from its record (fmtui.tui.monitor.recorded): it ended long ago."""
        return getattr(self.trainer, "replayed", False)


def attached_trainer(record: RunRecord) -> TrainerLike:
    from fmtui.tui.monitor.remote import AttachedTrainer

    return AttachedTrainer(record.path)
