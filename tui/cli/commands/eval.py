"""`fmtui eval`: a checkpoint's test accuracy, confusion matrix and per-class scores, and with --errors
the mistakes it is surest of, drawn in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from fmtui.tui.cli.app import Debug, Device, RunsDir, app, guarded, run_path, warn_of_source
from fmtui.tui.cli.streams import console
from fmtui.tui.render import format as fmt

if TYPE_CHECKING:
    from rich.console import Console


@app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(
        help="A best.pt file, the run directory holding it, or a run id under --runs-dir.", show_default=False)],
    data_dir: Annotated[Optional[Path], typer.Option(
        "--data-dir", help="Where FashionMNIST lives. Default: where the run read it (its summary.json "
                           "says), else $FMTUI_DATA, else ~/.cache/fmtui.", show_default=False)] = None,
    runs_dir: RunsDir = Path("runs"), device: Device = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    errors: Annotated[int, typer.Option("--errors", min=0, metavar="N",
                                        help="Also show the N mistakes the model is surest of, as pictures "
                                             "(with --json: listed).")] = 0,
    debug: Debug = False,
) -> None:
    """Evaluate a checkpoint on the 10,000 test images: accuracy, confusion matrix, per-class scores."""
    guarded(debug, lambda: evaluate_checkpoint_command(run_path(checkpoint, runs_dir), data_dir=data_dir,
                                                       device=device, json_output=json_, errors=errors))


def evaluate_checkpoint_command(path: Path, *, data_dir: Path | None, device: str | None,
                                json_output: bool, errors: int = 0) -> int:
    # Late: torch loads with these, and `fmtui --help` need not wait for it.

    from fmtui.core.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
    from fmtui.core.data.splits import test_split
    from fmtui.core.engine.evaluation import evaluate_checkpoint
    from fmtui.core.engine.loop import resolve_device
    from fmtui.core.engine.metrics import (
        classification_report,
        confident_mistakes,
        most_confused,
        worst_class,
    )
    from fmtui.core.records.checkpoints import load_checkpoint
    from fmtui.core.records.listing import data_dir_for
    from fmtui.core.records.run_dir import prediction
    from fmtui.tui.render.confusion_table import confusion_table

    out = console()  # preset names and paths are printed as they are, never read as markup
    checkpoint = load_checkpoint(path)
    warn_of_source(checkpoint)
    torch_device = resolve_device(device or "auto")
    data = load_fashion_mnist(data_dir_for(checkpoint.path.parent, data_dir))
    test = test_split(data, torch_device)
    evaluation = evaluate_checkpoint(checkpoint, test, torch_device)
    report = classification_report(evaluation.labels, evaluation.predictions, len(CLASS_NAMES))
    # The same fields as predictions.csv, for the images worth a look: index in the test file order.
    mistakes = [prediction(i, evaluation, CLASS_NAMES)
                for i in confident_mistakes(evaluation.labels, evaluation.predictions, evaluation.confidences, errors)]
    if json_output:
        result = {"checkpoint": str(checkpoint.path), "preset": checkpoint.config.preset,
                  "epoch": checkpoint.epoch, "test_accuracy": evaluation.accuracy,
                  "test_loss": evaluation.loss, "confusion": report.confusion.tolist(),
                  "precision": report.precision.tolist(), "recall": report.recall.tolist(),
                  "f1": report.f1.tolist()}
        if errors:
            result["errors"] = mistakes
        print(json.dumps(result))
        return 0
    out.print(f"{checkpoint.path}: {checkpoint.config.preset} ({checkpoint.config.model}), epoch {checkpoint.epoch}")
    out.print(f"test accuracy {fmt.percent(evaluation.accuracy)} on {len(test):,} images "
              f"(loss {fmt.loss(evaluation.loss)})")
    out.print(confusion_table(report.confusion, CLASS_NAMES, report.precision, report.recall, f1=report.f1))
    pairs = most_confused(report.confusion)
    if pairs:
        out.print("most confused: " + ", ".join(f"{CLASS_NAMES[t]} → {CLASS_NAMES[p]} {n}" for t, p, n in pairs))
    worst = worst_class(report.f1)
    out.print(f"worst class: {CLASS_NAMES[worst]} (F1 {fmt.percent(report.f1[worst], 1)}, precision "
              f"{fmt.percent(report.precision[worst], 1)}, recall {fmt.percent(report.recall[worst], 1)})")
    if errors:
        _show_mistakes(out, mistakes, test.images.squeeze(1).cpu().numpy(), CLASS_NAMES, errors)
    return 0


def _show_mistakes(out: Console, mistakes: list[dict], images: Any, class_names: tuple[str, ...],
                   asked: int) -> None:
    """The mistakes as pictures in rows, as many to a row as the terminal is wide, each under its labels."""
    from rich.columns import Columns
    from rich.console import Group
    from rich.text import Text

    from fmtui.tui.render.pictures import caption, picture

    out.print(f"\nthe {len(mistakes)} mistakes the model is surest of"
              + (f" (only {len(mistakes)} of the {asked} asked for)" if len(mistakes) < asked else "") + ":")
    cells = [Group(Text(f"test #{m['index']:,}", style="dim"),
                   caption(m["true"], m["predicted"], m["confidence"], class_names, width=28),
                   picture(images[m["index"]]))
             for m in mistakes]
    out.print(Columns(cells, padding=(1, 2)))
