"""The monitor's widgets, one per module. Each keeps the state it shows and learns it from core events.

A widget that follows the current run has two methods the app calls on the UI thread:
``reset(config)`` when a new run is about to start, and ``follow(event)`` for each of its events.
"""

from __future__ import annotations

from typing import Protocol

from textual.widget import Widget

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Event

# On a 2-core machine every millisecond the monitor draws is taken from training (tested: at most 5%
# of an epoch), so what changes often is drawn on timers, not per event.
PROGRESS_SECONDS = 1.0  # how often batch progress is drawn, however often it arrives
EPOCH_REDRAW_SECONDS = 3.0  # how often per-epoch views catch up; the linear model ends two epochs a second


class RunView(Protocol):
    def reset(self, config: TrainConfig) -> None: ...

    def follow(self, event: Event) -> None: ...


class ThrottledWidget(Widget):
    """A widget fed events faster than it is worth drawing: it redraws at most every ``redraw_seconds``.

    Handlers store the new values with ``set_reactive`` (no redraw) and call ``mark_stale()``.
    """

    redraw_seconds = PROGRESS_SECONDS  # batch progress, ten events a second
    _stale = False  # values stored but not yet drawn

    def on_mount(self) -> None:
        self.set_interval(self.redraw_seconds, self._draw_if_stale)

    def mark_stale(self) -> None:
        self._stale = True

    def _draw_if_stale(self) -> None:
        if self._stale:
            self._stale = False
            self.refresh()


class CatchesUpWhenShown:
    """A mixin for a view whose updates cost a layout pass of the whole screen even while it is hidden
    (rows added to a table): it keeps them, and applies them with ``catch_up()`` every
    EPOCH_REDRAW_SECONDS while shown and as soon as it is shown."""

    def on_mount(self) -> None:
        self.set_interval(EPOCH_REDRAW_SECONDS, self.catch_up_if_shown)

    def on_show(self) -> None:
        self.catch_up()

    def catch_up_if_shown(self) -> None:
        if self.is_on_screen:
            self.catch_up()

    def catch_up(self) -> None:
        raise NotImplementedError
