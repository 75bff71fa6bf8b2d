"""`fmtui attach [RUN_DIR]`: the monitor on a live run in another process; q leaves it running."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from fmtui.core.live.control_client import require_live
from fmtui.core.live.control_socket import ControlError
from fmtui.core.records.listing import list_runs, open_run, run_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli.app import Debug, RunsDir, app, guarded, run_path
from fmtui.tui.cli.streams import console


@app.command()
def attach(run: Annotated[Optional[Path], typer.Argument(
               help="The run directory (or run id under --runs-dir). Default: the live run in --runs-dir.",
               show_default=False)] = None,
           runs_dir: RunsDir = Path("runs"), debug: Debug = False) -> None:
    """Watch and steer a run started elsewhere (`fmtui train`, another monitor): p pauses, s stops, q leaves."""

    def launch() -> int:
        record = choose(run_path(run, runs_dir) if run is not None else None, runs_dir)
        from fmtui.tui.monitor.launch import run_tui  # late: Textual is only needed for the monitor

        return run_tui(runs_dir=record.path.parent, attach=record.path)

    guarded(debug, launch)


def live_runs(runs_dir: Path) -> list[RunRecord]:
    return [record for record in list_runs(runs_dir) if run_summary(record)["status"] == "running"]


def choose(run_dir: Path | None, runs_dir: Path) -> RunRecord:
    """The run to attach to: the one named, the one live in ``runs_dir``, or one the person picks."""
    if run_dir is not None:
        record = open_run(run_dir)
        require_live(record.path)
        return record
    live = live_runs(runs_dir)
    if not live:
        raise ControlError(f"no run in {runs_dir} is live; `fmtui runs --runs-dir {runs_dir}` lists them all, "
                           f"and `fmtui attach RUN_DIR` names one.")
    if len(live) == 1:
        return live[0]
    if not sys.stdin.isatty():
        names = "\n".join(f"  {record.path}" for record in live)
        raise ControlError(f"{len(live)} runs in {runs_dir} are live; name one:\n{names}")
    out = console()
    for number, record in enumerate(live, 1):
        out.print(Text(f"{number}. {record.run_id}"))
    picked = typer.prompt(f"Attach to which (1-{len(live)})", type=int, default=len(live))
    if not 1 <= picked <= len(live):
        raise ControlError(f"{picked} is not one of 1-{len(live)}.")
    return live[picked - 1]
