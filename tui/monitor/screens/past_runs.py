"""Past runs from the runs directory: open one in every view, add it to the comparison, attach to a
live one, or resume an interrupted one. Live runs (their lock is held) are listed as running. Each row
shows the settings that tell runs of one preset apart: epochs, learning rate, a sweep's trial.

The result is ``(action, record)`` with action "open", "compare" or "resume", or None when closed.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

from fmtui.core.errors import FmtuiError
from fmtui.core.records.listing import run_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.render import format as fmt

COLUMNS = ("started", "preset", "status", "epochs", "best val", "test", "time", "lr")


def describe(record: RunRecord) -> tuple[Text, ...]:
    """A past run's cells, as Text: a preset or status read from a file is shown, never read as markup.
    A record that cannot be read is listed as unreadable; choosing it explains why."""
    started, preset, *rest = fmt.run_cells(run_summary(record))
    try:
        config = record.read_config()
        lr, trial = f"{config.lr:g}", f" #{config.trial}" if config.trial >= 0 else ""
    except FmtuiError:
        lr, trial = "?", ""
    return tuple(Text(cell) for cell in (started, preset + trial, *rest, lr))


class PastRuns(ModalScreen[tuple[str, RunRecord] | None]):
    DEFAULT_CSS = """
    PastRuns { align: center middle; }
    PastRuns > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
                          border: thick $primary; background: $surface; padding: 0 1; }
    PastRuns DataTable { height: auto; max-height: 14; }
    PastRuns #where { color: $text-muted; width: 100%; }  /* wraps, rather than running off the edge */
    """

    BINDINGS = [
        Binding("enter", "choose('open')", "Open/attach", priority=True),
        Binding("c", "choose('compare')", "Compare"),
        Binding("r", "choose('resume')", "Resume"),
        # Before the table's own Home and End, which scroll without moving the cursor.
        Binding("home", "row(0)", "First", show=False, priority=True),
        Binding("end", "row(-1)", "Last", show=False, priority=True),
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
                yield Label(f"Past runs in {self.where}, newest first. Enter opens one in every view (or "
                            f"attaches to a running one), c adds it to the comparison, r resumes an "
                            f"interrupted or stopped run.",
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

    def action_row(self, row: int) -> None:
        if self.records:
            table = self.query_one(DataTable)
            table.move_cursor(row=row if row >= 0 else len(self.records) - 1)

    def action_close(self) -> None:
        self.dismiss(None)
