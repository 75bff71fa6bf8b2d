"""Small helpers shared by the test modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Event
from fmtui.core.engine.trainer import Outcome, Trainer


def run_trainer(config: TrainConfig, data_dir: Path, runs_dir: Path, **kwargs: Any) -> tuple[Outcome, list[Event]]:
    """Run a trainer to the end on its worker thread; return its outcome and every event it emitted."""
    trainer = Trainer(config, data_dir=data_dir, runs_dir=runs_dir, **kwargs)
    events: list[Event] = []
    trainer.subscribe(events.append)
    trainer.start()
    outcome = trainer.wait(timeout=300)
    assert outcome is not None, "the run did not end within 5 minutes"
    assert not trainer.bus.errors, trainer.bus.errors
    return outcome, events


def kinds(events: list[Event]) -> list[str]:
    return [e.kind() for e in events]


def tiny_preset(description: str = "tiny linear run for tests", **settings: Any) -> str:
    """A preset file's text for the tiny data: a linear model that trains in well under a second an epoch."""
    values = {"description": description, "model": "linear", "batch_size": 10, "lr": 0.01,
              "schedule": "constant", "val_size": 50, "device": "cpu", **settings}
    return "".join(f'{key} = "{value}"\n' if isinstance(value, str) else f"{key} = {value}\n"
                   for key, value in values.items())
