"""A run as the monitor holds it: its number, its config and the trainer behind it, in this process
(core.training.Trainer) or in another one (tui.monitor.remote.AttachedTrainer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.config import TrainConfig
from core.events import Subscriber
from core.records import RunRecord


class TrainerLike(Protocol):
    """What the app needs of core.training.Trainer (tests pass a scripted stand-in)."""

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
        """The run is in another process (tui.monitor.remote): leaving the monitor leaves it going."""
        return getattr(self.trainer, "attached", False)


def attached_trainer(record: RunRecord) -> TrainerLike:
    from tui.monitor.remote import AttachedTrainer

    return AttachedTrainer(record.path)
