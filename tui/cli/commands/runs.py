"""`fmtui runs`: past runs as a table, newest last."""

from __future__ import annotations

from pathlib import Path

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from fmtui.core.errors import RecordError
from fmtui.core.records.listing import list_runs, run_summary
from fmtui.tui.cli.app import Debug, RunsDir, app, guarded
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt

BEST_MEANS = ("Accuracies. best val: at the epoch whose weights best.pt keeps (the lowest validation loss, or "
              "the highest validation accuracy in a run that sets select = \"accuracy\")")


@app.command()
def runs(runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """List past runs: started, preset, status, epochs, accuracies, duration."""
    guarded(debug, lambda: list_runs_command(runs_dir))


def list_runs_command(runs_dir: Path) -> int:
    out = console()  # run ids, presets and paths are printed as they are, never read as markup
    records = list_runs(runs_dir)
    if not records:
        out.print(f"No runs in {runs_dir} yet: start one with `fmtui train --preset linear` or `fmtui`.")
        return 0
    # The run id comes first and is never wrapped or cut: it is what people copy into `eval`, `compare`
    # and `attach`. It says when the run started (so that needs no column); the preset is listed as the
    # record says it, since a directory may have been renamed.
    table = Table(box=None, pad_edge=False, header_style="bold underline", caption=BEST_MEANS,
                  caption_justify="left")
    table.add_column("run", no_wrap=True, min_width=max(len(r.run_id) for r in records))
    table.add_column("preset", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for header in ("epochs", "best val", "test", "duration"):
        table.add_column(header, no_wrap=True, justify="right")
    problems = []
    for record in records:
        s = run_summary(record)
        if s["status"] == "unreadable":
            problems.append(s["error"])
        _, preset, _, *rest = fmt.run_cells(s)
        table.add_row(record.run_id, Text(preset), fmt.status_text(s["status"]), *rest)
    # As wide as the rows need, never cut or wrapped by Rich: where that is wider than a terminal, the
    # terminal folds the line, and an id copied from it is still whole.
    out.width = max(out.width, Measurement.get(out, out.options.update_width(10_000), table).maximum)
    out.print(Text(f"Runs in {runs_dir}"), soft_wrap=True)  # a path is never broken across lines
    out.print(table)
    if problems:  # listed above as unreadable; here is why, file by file
        raise RecordError("some run records cannot be read:\n" + "\n".join(problems))
    return 0
