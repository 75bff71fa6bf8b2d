"""What each key does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from fmtui.tui.monitor.views import VIEWS

KEYS = (
    ("n", "New run: pick a preset, change epochs and learning rate, Enter starts it. A running run "
          "is stopped first (you are asked)."),
    ("p", "Pause or resume training (takes effect at the next batch)."),
    ("s", "Stop early: the best weights are still tested and the record completed."),
    *[(view.key, f"{view.title}: {view.help}") for view in VIEWS],
    ("r", "Past runs in the runs directory: Enter adds one to the comparison; r resumes an interrupted "
          "or stopped run from its last complete epoch."),
    ("← →", "Previous or next view when the view tabs have focus; Tab moves focus."),
    ("?", "This help."),
    ("q", "Quit. While a run is active you are asked; it is then stopped and its record completed "
          "before fmtui exits."),
    ("Ctrl-C", "Quit at once: a run in progress ends as interrupted, its state saved for --resume."),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $primary; padding: 0 1; background: $surface; }
    """

    BINDINGS = [Binding("escape,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        with VerticalScroll() as scroll:
            scroll.border_title = "fmtui keys (Esc closes)"
            yield Static(table)
        yield Footer()  # the dialog's own keys; the monitor's footer lies beneath it
