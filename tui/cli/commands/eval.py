"""`fmtui eval`: a checkpoint's test accuracy and confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tui import format as fmt
from tui.cli.app import DataDir, Debug, Device, app, guarded
from tui.streams import console


@app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(help="A best.pt file, or the run directory holding it.",
                                               show_default=False)],
    data_dir: DataDir = None, device: Device = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    debug: Debug = False,
) -> None:
    """Evaluate a checkpoint on the 10,000 test images: accuracy and confusion matrix."""
    guarded(debug, lambda: evaluate_checkpoint_command(checkpoint, data_dir=data_dir, device=device,
                                                       json_output=json_))


def evaluate_checkpoint_command(path: Path, *, data_dir: Path | None, device: str | None,
                                json_output: bool) -> int:
    # Late: torch loads with these, and `fmtui --help` need not wait for it.
    from core.data import CLASS_NAMES, default_data_dir, load_fashion_mnist, test_split
    from core.evaluation import evaluate_checkpoint
    from core.loop import resolve_device
    from core.metrics import classification_report, most_confused
    from core.records import load_checkpoint
    from tui.confusion_table import confusion_table

    out = console()  # preset names and paths are printed as they are, never read as markup
    checkpoint = load_checkpoint(path)
    torch_device = resolve_device(device or "auto")
    data = load_fashion_mnist(data_dir if data_dir is not None else default_data_dir())
    test = test_split(data, torch_device)
    evaluation = evaluate_checkpoint(checkpoint, test, torch_device)
    report = classification_report(evaluation.labels, evaluation.predictions, len(CLASS_NAMES))
    if json_output:
        print(json.dumps({"checkpoint": str(checkpoint.path), "preset": checkpoint.config.preset,
                          "epoch": checkpoint.epoch, "test_accuracy": evaluation.accuracy,
                          "test_loss": evaluation.loss, "confusion": report.confusion.tolist(),
                          "precision": report.precision.tolist(), "recall": report.recall.tolist()}))
        return 0
    out.print(f"{checkpoint.path}: {checkpoint.config.preset} ({checkpoint.config.model}), epoch {checkpoint.epoch}")
    out.print(f"test accuracy {fmt.percent(evaluation.accuracy)} on {len(test):,} images "
              f"(loss {fmt.loss(evaluation.loss)})")
    out.print(confusion_table(report.confusion, CLASS_NAMES, report.precision, report.recall))
    pairs = most_confused(report.confusion)
    if pairs:
        out.print("most confused: " + ", ".join(f"{CLASS_NAMES[t]} → {CLASS_NAMES[p]} {n}" for t, p, n in pairs))
    return 0
