"""`fmtui` with no command: the live training monitor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmtui.tui.cli.app import DataDir, Debug, Device, RunsDir, app, guarded
from fmtui.tui.cli.flags import Assignments, BatchSize, Epochs, Flags, Lr, Model, Seed


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context,
         preset: Annotated[Optional[str], typer.Option("--preset", help="Start this preset at once.")] = None,
         model: Model = None, epochs: Epochs = None, lr: Lr = None, batch_size: BatchSize = None, seed: Seed = None,
         set_: Assignments = None, data_dir: DataDir = None, runs_dir: RunsDir = Path("runs"),
         device: Device = None, presets_dir: Annotated[Optional[Path], typer.Option(
             "--presets-dir", help="A folder of your own presets, listed in the menu beside the shipped ones "
                                   "(as are those in ~/.config/fmtui/presets).", show_default=False)] = None,
         debug: Debug = False) -> None:
    """With no command: open the live training monitor. The settings flags apply to every run it starts,
    from --preset or from its menu."""
    if ctx.invoked_subcommand is not None:
        return
    flags = Flags({"model": model, "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed},
                  tuple(set_ or ()))

    def launch() -> int:
        from fmtui.tui.monitor.launch import run_tui  # late: Textual is only needed for the monitor

        return run_tui(preset=preset, flags=flags, data_dir=data_dir, runs_dir=runs_dir, device=device,
                       presets_dir=presets_dir)

    guarded(debug, launch)
