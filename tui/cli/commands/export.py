"""`fmtui export`: a run's best weights as a file to use outside fmtui (ONNX, with the input scaling built
in and the class names as metadata; fmtui.core.export says what it takes and gives)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from fmtui.tui.cli.app import Debug, Run, RunsDir, app, guarded, run_path
from fmtui.tui.cli.streams import console

Format = Literal["onnx"]


@app.command()
def export(
    run: Run,
    format_: Annotated[Format, typer.Option("--format", help="The file format (ONNX is the one there is).")] = "onnx",
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE", show_default=False,
                                                help="Where to write it. Default: RUN_ID.onnx here.")] = None,
    runs_dir: RunsDir = Path("runs"),
    debug: Debug = False,
) -> None:
    """Write a run's best weights as an ONNX model: it takes N x 1 x 28 x 28 pixels on 0-255 and gives
    logits and probabilities for the ten classes, named in its metadata."""
    guarded(debug, lambda: export_command(run_path(run, runs_dir), out))


def export_command(run: Path, out: Path | None) -> int:
    from rich.text import Text

    from fmtui.core.export import check_installed, export_onnx
    from fmtui.core.records.checkpoints import load_checkpoint

    check_installed()  # before the checkpoint loads: the missing extra is the first thing to fix
    checkpoint = load_checkpoint(run)
    target = out if out is not None else Path(f"{checkpoint.path.parent.name}.onnx")
    exported = export_onnx(checkpoint, target)
    console().print(Text(f"wrote {exported.path}: {checkpoint.config.preset} ({checkpoint.config.model}), epoch "
                         f"{checkpoint.epoch}; checked with onnxruntime (logits within {exported.max_difference:.1e} "
                         f"of PyTorch's). Input: pixels, float32 N x 1 x 28 x 28 on 0-255."))
    return 0
