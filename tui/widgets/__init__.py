"""The monitor's widgets, one per module. Each keeps the state it shows and learns it from core events.

A widget that follows the current run has two methods the app calls on the UI thread:
``reset(config)`` when a new run is about to start, and ``follow(event)`` for each of its events.
"""

from __future__ import annotations

from typing import Protocol

from core.config import TrainConfig
from core.events import Event


class RunView(Protocol):
    def reset(self, config: TrainConfig) -> None: ...

    def follow(self, event: Event) -> None: ...
