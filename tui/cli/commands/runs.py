"""`fmtui runs`: past runs as a table, newest last."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from fmtui.core.errors import RecordError
from fmtui.core.records.listing import list_runs, run_summary
from fmtui.tui.cli.app import Debug, RunsDir, app, guarded
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt


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
    table = Table(title=Text(f"Runs in {runs_dir}"), title_justify="left", box=None, pad_edge=False,
                  header_style="bold underline")
    for header in ("started", "preset", "status", "epochs", "best val", "test", "duration"):
        table.add_column(header, no_wrap=True, justify="right" if header not in ("preset", "status") else "left")
    table.add_column("run directory", overflow="fold")
    problems = []
    for record in records:
        s = run_summary(record)
        if s["status"] == "unreadable":
            problems.append(s["error"])
        started, preset, _, *rest = fmt.run_cells(s)
        table.add_row(started, preset, fmt.status_text(s["status"]), *rest, record.run_id)
    out.print(table)
    if problems:  # listed above as unreadable; here is why, file by file
        raise RecordError("some run records cannot be read:\n" + "\n".join(problems))
    return 0
