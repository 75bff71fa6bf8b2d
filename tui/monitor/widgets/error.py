"""A run that failed or diverged explains itself here, inside the app, until the next run starts.

The message is shown whole: it wraps, and the panel grows to most of the screen before it scrolls
(with a scrollbar, and the arrow keys once it has focus), so the advice that ends a message such as
the missing-data one is on screen at 80x24.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Diverged, Event, RunFailed


class ErrorPanel(VerticalScroll):
    DEFAULT_CSS = """
    ErrorPanel { display: none; height: auto; max-height: 75vh; border: round $error; padding: 0 1;
                 border-title-color: $error; border-title-style: bold; }
    ErrorPanel.-shown { display: block; }
    ErrorPanel > Static { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="error-message")

    def reset(self, config: TrainConfig) -> None:
        self.remove_class("-shown")

    def follow(self, event: Event) -> None:
        match event:
            case RunFailed(user_error=True):
                self.show("The run failed", event.error)
            case RunFailed():
                self.show("Internal error", f"{event.error}\nThis is a bug in fmtui; its traceback is printed "
                                             f"when you quit.")
            case Diverged():
                self.show("The run diverged",
                           f"The training loss became {event.loss} at epoch {event.epoch}; the best weights so "
                           f"far were kept and tested. Start again with a lower learning rate.")

    @property
    def message(self) -> str:
        return str(self.query_one("#error-message", Static).render())

    def show(self, title: str, message: str) -> None:
        self.border_title = title
        self.border_subtitle = "n: start a run"  # on the border, so it shows however long the message is
        self.query_one("#error-message", Static).update(Text(message))  # not markup: paths are quoted verbatim
        self.add_class("-shown")
        self.scroll_home(animate=False)
