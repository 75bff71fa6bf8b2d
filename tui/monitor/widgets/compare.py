"""Runs side by side: validation accuracy curves and a table.

Every run started since the app opened is here, and past runs from the runs directory can be added
(the `r` list): the comparison the app exists for, linear against tinyvgg, at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import EpochEnded, Event, RunFailed, RunFinished, RunStarted, StopRequested
from fmtui.core.models import model_label
from fmtui.core.records.listing import current_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.widgets import CatchesUpWhenShown
from fmtui.tui.monitor.widgets.charts import whole_ticks
from fmtui.tui.monitor.widgets.line_chart import Line, LineChart
from fmtui.tui.render import format as fmt
from fmtui.tui.render.charts import CURVE_COLOURS

COLUMNS = ("run", "preset", "model", "status", "best val", "test", "epochs", "time")


@dataclass
class RunEntry:
    name: str  # "#2" for the second run of this session, the start time for a past run
    preset: str
    model: str
    colour: str
    status: str = "starting"
    epochs: list[int] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_val: float | None = None  # at the best epoch (by the run's `select`), as records keep it
    test: float | None = None
    seconds: float | None = None
    run_dir: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.preset}"


class CompareView(CatchesUpWhenShown, Vertical):
    DEFAULT_CSS = """
    CompareView #compare-chart { height: 1fr; min-height: 8; }
    CompareView #verdict { height: auto; padding: 0 1; }
    CompareView DataTable { height: auto; max-height: 8; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: dict[str, RunEntry] = {}  # by table row key: "1", "2", ... live; "past:<run id>" past
        self._dirty: set[str] = set()  # runs whose new epochs the table and chart do not show yet

    def compose(self) -> ComposeResult:
        self.chart = LineChart(id="compare-chart")
        self.verdict = Static(id="verdict")
        self.table = DataTable(id="compare-table", cursor_type="none", zebra_stripes=True)
        yield self.chart
        yield self.verdict
        yield self.table

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.table.add_column(name, key=name)
        self._redraw()

    def add_run(self, number: int, config: TrainConfig) -> None:
        self._add(str(number), RunEntry(f"#{number}", config.preset, model_label(config.model), self._next_colour()))

    def add_past(self, record: RunRecord) -> bool:
        """Add a finished, stopped or interrupted run from its record; False if it is already here."""
        if any(run.run_dir == str(record.path) for run in self.runs.values()):
            return False
        summary, history = current_summary(record), record.read_history()
        run = RunEntry(fmt.started(summary) or record.run_id, summary.get("preset", "?"),
                       model_label(summary.get("model", "?")), self._next_colour(),
                       status=summary["status"], epochs=[row["epoch"] for row in history],
                       val_accuracy=[row["val_accuracy"] * 100 for row in history],
                       best_val=summary.get("best_val_accuracy"), test=summary.get("test_accuracy"),
                       seconds=summary.get("duration_seconds"), run_dir=str(record.path))
        self._add(f"past:{record.run_id}", run)
        return True

    def _add(self, key: str, run: RunEntry) -> None:
        self.runs[key] = run
        self._dirty.add(key)
        self.catch_up_if_shown()  # a run starts in the first second of training: its row waits until shown

    def _next_colour(self) -> str:
        return CURVE_COLOURS[len(self.runs) % len(CURVE_COLOURS)]

    def follow(self, number: int, event: Event) -> None:
        """An event of run ``number``, current or not: a stopped run's final result still counts."""
        key = str(number)
        run = self.runs.get(key)
        if run is None:
            return
        match event:
            case RunStarted():
                run.status, run.run_dir = "running", event.run_dir
            case EpochEnded():
                run.epochs.append(event.epoch)
                run.val_accuracy.append(event.val_accuracy * 100)
                if event.best_epoch == event.epoch:
                    run.best_val = event.val_accuracy
                run.seconds = event.elapsed_seconds
            case StopRequested():
                run.status = "stopping"
            case RunFinished():
                run.status, run.test, run.seconds = event.status, event.test_accuracy, event.seconds
                run.best_val = event.best_val_accuracy if event.best_val_accuracy is not None else run.best_val
            case RunFailed():
                run.status = "failed"
            case _:
                return  # batch progress and the like change nothing here
        self._dirty.add(key)
        if not isinstance(event, EpochEnded):  # rare and telling: shown at once; epochs on the timer
            self.catch_up_if_shown()

    def catch_up(self) -> None:
        if not self._dirty:
            return
        for key in [key for key in self.runs if key in self._dirty]:  # new rows in the order runs came
            cells = self._cells(self.runs[key])
            if key not in self.table.rows:
                self.table.add_row(*cells, key=key)
                continue
            for column, value in zip(COLUMNS, cells):
                self.table.update_cell(key, column, value, update_width=True)
        self._dirty.clear()
        self._redraw()

    def _cells(self, run: RunEntry) -> tuple[Text, ...]:
        # Text, not str: a DataTable reads a str cell as markup, and a preset name comes from a file.
        return tuple(Text(cell) for cell in (run.name, run.preset, run.model, run.status, fmt.percent(run.best_val),
                                             fmt.percent(run.test), str(len(run.epochs)), fmt.duration(run.seconds)))

    def _redraw(self) -> None:
        longest = max((run.epochs[-1] for run in self.runs.values() if run.epochs), default=0)
        self.chart.draw("validation accuracy % per epoch",
                        [Line(run.label, run.colour, run.epochs, run.val_accuracy) for run in self.runs.values()],
                        percent=True, xticks=whole_ticks(1, longest) if longest else None)
        self.verdict.update(self._verdict())

    def _verdict(self) -> Text:
        """Who leads whom, by test accuracy when two runs have one, else by best validation accuracy."""
        if not self.runs:
            return Text("No runs yet: press n to start one, or r to add past runs. Each run started in this "
                        "session is compared here.", style="dim")
        tested = [r for r in self.runs.values() if r.test is not None]
        measure, pool = ("test", tested) if len(tested) >= 2 else (
            "best validation", [r for r in self.runs.values() if r.best_val is not None])
        if len(pool) < 2:
            hint = ("Start another run (n) or add a past one (r) to compare with." if len(self.runs) < 2 else
                    "Runs are compared once at least two have finished an epoch.")
            return Text(hint, style="dim")

        def score(run: RunEntry) -> float:
            return run.test if measure == "test" else run.best_val

        best, runner_up = sorted(pool, key=score, reverse=True)[:2]
        a, b = score(best), score(runner_up)
        if round(a, 4) == round(b, 4):  # accuracies are counts over the split: equal to four places is a tie
            return Text.assemble((best.label, "bold"), " and ", (runner_up.label, "bold"),
                                 f" tie at {fmt.percent(a)} {measure} accuracy.")
        return Text.assemble((best.label, "bold"), f" leads {runner_up.label} by ",
                             (f"{(a - b) * 100:.2f} points", "bold"),
                             f" of {measure} accuracy ({fmt.percent(a)} vs {fmt.percent(b)}).")
