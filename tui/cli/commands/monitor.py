"""`fmtui` with no command: the live training monitor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmtui.tui.cli.app import DataDir, Debug, Device, RunsDir, app, guarded


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context,
         preset: Annotated[Optional[str], typer.Option("--preset", help="Start this preset at once.")] = None,
         data_dir: DataDir = None, runs_dir: RunsDir = Path("runs"), device: Device = None,
         debug: Debug = False) -> None:
    """With no command: open the live training monitor."""
    if ctx.invoked_subcommand is not None:
        return

    def launch() -> int:
        from fmtui.tui.monitor.launch import run_tui  # late: Textual is only needed for the monitor

        return run_tui(preset=preset, data_dir=data_dir, runs_dir=runs_dir, device=device)

    guarded(debug, launch)
