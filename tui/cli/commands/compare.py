"""`fmtui compare`: runs side by side, with their validation accuracy curves in one chart."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import plotext as plt
import typer
from rich.table import Table
from rich.text import Text

from fmtui.core.errors import FmtuiError
from fmtui.core.models import model_label
from fmtui.core.records.listing import current_summary, open_run
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli.app import Debug, RunsDir, app, guarded, run_path
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt
from fmtui.tui.render.charts import CURVE_COLOURS, colour_style, percent_limits


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(
        metavar="RUN", help="One or more run directories, or run ids under --runs-dir.", show_default=False)],
    runs_dir: RunsDir = Path("runs"), debug: Debug = False,
) -> None:
    """Show runs side by side, with their validation accuracy curves in one chart."""
    guarded(debug, lambda: compare_command([run_path(run, runs_dir) for run in runs]))


def compare_command(run_dirs: list[Path]) -> int:
    out = console()  # run ids, presets and paths are printed as they are, never read as markup
    records = [open_run(path) for path in run_dirs]
    # Unlike the listing, a comparison needs every run it names: an unreadable one is an error naming it.
    # Each with the rule its best epoch was chosen by (the run's `select`), which the summary leaves out.
    summaries = [{**current_summary(r), "best_by": r.read_config().select} for r in records]
    histories = [r.read_history() for r in records]
    table = Table("", *[r.run_id for r in records], title="Runs side by side", title_justify="left")
    rows: list[tuple[str, Any]] = [
        ("preset", lambda s, h: s.get("preset", "?")),
        ("model", lambda s, h: model_label(s.get("model", "?"))),
        ("parameters", lambda s, h: f"{s['parameters']:,}" if s.get("parameters") else "–"),
        ("status", lambda s, h: fmt.status_text(s["status"])),
        ("epochs", lambda s, h: f"{s.get('epochs', 0)}/{s.get('epochs_planned', '?')}"),
        ("best epoch",
         lambda s, h: f"{s['best_epoch']} ({fmt.best_rule(s['best_by'])})" if s.get("best_epoch") else "–"),
        ("its val accuracy", lambda s, h: fmt.percent(s.get("best_val_accuracy"))),
        ("test accuracy", lambda s, h: fmt.percent(s.get("test_accuracy"))),
        ("final train accuracy", lambda s, h: fmt.percent(h[-1]["train_accuracy"]) if h else "–"),
        ("duration", lambda s, h: fmt.duration(s.get("duration_seconds"))),
        ("training images/s", lambda s, h: fmt.rate(mean_rate(h)) if h else "–"),
        ("device", lambda s, h: s.get("device", "?")),
    ]
    for label, value in rows:
        table.add_row(label, *[value(s, h) for s, h in zip(summaries, histories)])
    out.print(table)
    if not any(histories):
        raise FmtuiError("none of these runs has a completed epoch, so there are no curves to draw.")
    sys.stdout.write(accuracy_chart(records, histories, width=min(out.width, 100)) + "\n")
    return 0


def mean_rate(history: list[dict[str, Any]]) -> float:
    """Training images per second over every epoch of a run (each epoch's rate weighted by its time): one
    fast last epoch does not stand for the run."""
    seconds = sum(row["seconds"] for row in history)
    return sum(row["images_per_second"] * row["seconds"] for row in history) / seconds if seconds > 0 else 0.0


def accuracy_chart(records: list[RunRecord], histories: list[list[dict[str, Any]]], width: int = 80,
                   height: int = 18) -> str:
    """Validation accuracy per epoch of each run, overlaid, as terminal text."""
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("pro" if sys.stdout.isatty() else "clear")
    legend = Text()
    shown = []
    for n, (record, history) in enumerate(zip(records, histories)):
        if history:
            colour = CURVE_COLOURS[n % len(CURVE_COLOURS)]
            values = [row["val_accuracy"] * 100 for row in history]
            plt.plot([row["epoch"] for row in history], values, color=colour, marker="braille")
            shown += values
            # Below the chart, not on it (plotext's legend covers the top left, where curves start).
            legend.append("  ━━ ", style=colour_style(colour)).append(record.run_id)
    plt.ylim(*percent_limits(shown))
    longest = max(len(h) for h in histories)
    plt.xticks(list(range(1, longest + 1, max(1, longest // 12))))
    plt.title("validation accuracy (%) per epoch")
    plt.xlabel("epoch")
    text = plt.build()
    plt.clf()
    if not sys.stdout.isatty():
        return plt.uncolorize(text).rstrip("\n") + "\n" + legend.plain
    out = console(force_terminal=True, width=width)
    with out.capture() as captured:
        out.print(legend)
    return text.rstrip("\n") + "\n" + captured.get().rstrip("\n")
