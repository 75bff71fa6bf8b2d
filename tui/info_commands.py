"""`fmtui presets` and `fmtui eval`: short commands that print a table and exit."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from rich.table import Table
from rich.text import Text

from core.config import load_preset, preset_names, presets_dir
from core.data import CLASS_NAMES, Split, default_data_dir, load_fashion_mnist
from core.errors import ConfigError, FmtuiError
from core.loop import resolve_device
from core.metrics import classification_report, most_confused
from core.records import load_checkpoint
from core.evaluation import evaluate_checkpoint
from tui import format as fmt
from tui.confusion import confusion_table
from tui.streams import console

out = console()  # preset names, descriptions and paths are printed as they are, never read as markup


def list_presets() -> int:
    table = Table("preset", "model", "epochs", "description", title=Text(f"Presets in {presets_dir()}"),
                  title_justify="left")
    problems = []
    for name in preset_names():
        try:
            config = load_preset(name)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        table.add_row(name, config.model, str(config.epochs), config.description)
    out.print(table)
    if problems:
        raise FmtuiError("some preset files cannot be used:\n" + "\n".join(problems))
    return 0


def evaluate_checkpoint_command(path: Path, *, data_dir: Path | None, device: str | None,
                                json_output: bool) -> int:
    checkpoint = load_checkpoint(path)
    torch_device = resolve_device(device or "auto")
    data = load_fashion_mnist(data_dir if data_dir is not None else default_data_dir())
    test = Split(data.test_images.unsqueeze(1).to(torch_device), data.test_labels.to(torch_device))
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
