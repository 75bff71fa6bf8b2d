"""What each key does, from the monitor's table of keys (fmtui.tui.monitor.views.KEYS)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from fmtui.tui.monitor.views import KEYS


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
        for key in KEYS:
            if key.help:
                table.add_row(key.said, key.help)
        with VerticalScroll() as scroll:
            scroll.border_title = "fmtui keys (Esc closes)"
            yield Static(table)
        yield Footer()  # the dialog's own keys; the monitor's footer lies beneath it
