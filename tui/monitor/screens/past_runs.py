"""Past runs from the runs directory: add one to the comparison, attach to a live one, or resume an
interrupted one. Live runs (their lock is held) are listed as running.

The result is ``(action, record)`` with action "compare" or "resume", or None when closed.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

from fmtui.core.records.listing import run_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.render import format as fmt

COLUMNS = ("started", "preset", "status", "epochs", "best val", "test", "time")


def describe(record: RunRecord) -> tuple[Text, ...]:
    """A past run's cells, as Text: a preset or status read from a file is shown, never read as markup.
    A record that cannot be read is listed as unreadable; choosing it explains why."""
    return tuple(Text(cell) for cell in fmt.run_cells(run_summary(record)))


class PastRuns(ModalScreen[tuple[str, RunRecord] | None]):
    DEFAULT_CSS = """
    PastRuns { align: center middle; }
    PastRuns > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
                          border: thick $primary; background: $surface; padding: 0 1; }
    PastRuns DataTable { height: auto; max-height: 14; }
    PastRuns #where { color: $text-muted; width: 100%; }  /* wraps, rather than running off the edge */
    """

    BINDINGS = [
        Binding("enter", "choose('compare')", "Compare/attach", priority=True),
        Binding("r", "choose('resume')", "Resume"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, records: list[RunRecord], where: str, problem: str = "") -> None:
        super().__init__()
        self.records = records
        self.where = where
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.records:
                yield Label(f"Past runs in {self.where}, newest first. Enter adds one to the comparison "
                            f"or attaches to a running one; r resumes an interrupted or stopped run.",
                            id="where", markup=False)
                yield DataTable(cursor_type="row", zebra_stripes=True)
            else:
                yield Label(self.problem or f"No runs in {self.where} yet.", id="where", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if not self.records:
            return
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        for index, record in enumerate(self.records):
            table.add_row(*describe(record), key=str(index))
        table.focus()

    def action_choose(self, action: str) -> None:
        if not self.records:
            self.dismiss(None)
            return
        row = self.query_one(DataTable).cursor_row
        self.dismiss((action, self.records[row]))

    def action_close(self) -> None:
        self.dismiss(None)
