"""A run that failed or diverged explains itself here, inside the app, until the next run starts."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.config import TrainConfig
from core.events import Diverged, Event, RunFailed


class ErrorPanel(Static):
    DEFAULT_CSS = """
    ErrorPanel { display: none; height: auto; max-height: 12; overflow-y: auto; border: round $error;
                 padding: 0 1; border-title-color: $error; border-title-style: bold; }
    ErrorPanel.-shown { display: block; }
    """

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

    def show(self, title: str, message: str) -> None:
        self.border_title = title
        self.border_subtitle = "n: start a run"  # on the border, so it shows however long the message is
        self.update(Text(message))  # not markup: messages quote paths and values verbatim
        self.add_class("-shown")
