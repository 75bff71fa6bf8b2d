"""Scoring a checkpoint on a split: shared by the trainer's test report and `fmtui eval`, so the two
always agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.data.splits import Split
from fmtui.core.engine.events import Evaluated
from fmtui.core.engine.loop import Evaluation, evaluate, uses_bf16
from fmtui.core.engine.metrics import Report, classification_report
from fmtui.core.errors import RecordError
from fmtui.core.models import build_model, model_spec
from fmtui.core.records.checkpoints import Checkpoint


def _misfit(expected: dict[str, torch.Tensor], found: dict[str, Any]) -> str:
    """How a state dict differs from the model's, for a person; empty when it fits."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    reshaped = [k for k in expected if k in found and getattr(found[k], "shape", None) != expected[k].shape]
    parts = [f"{len(keys)} {what}, such as '{keys[0]}'"
             for keys, what in ((missing, "missing"), (unexpected, "unexpected"), (reshaped, "of another shape"))
             if keys]
    return "; ".join(parts)


def evaluate_checkpoint(checkpoint: Checkpoint, split: Split, device: torch.device,
                        keep_going: Callable[[], bool] = lambda: True) -> Evaluation:
    """Load the checkpoint's weights into the model its config names and evaluate them on ``split``
    (``keep_going``: as for fmtui.core.engine.loop.evaluate)."""
    config = checkpoint.config
    spec = model_spec(config.model)
    model = build_model(config)
    misfit = _misfit(model.state_dict(), checkpoint.state_dict)
    if misfit:
        raise RecordError(f"{checkpoint.path}: its weights do not fit the '{config.model}' model its config "
                          f"names ({misfit}). Evaluate a best.pt as a run wrote it.")
    model.load_state_dict(checkpoint.state_dict)
    model = model.to(device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return evaluate(model, split, device=device, channels_last=spec.channels_last, tta_flip=config.tta_flip,
                    bf16=uses_bf16(device, config.cpu_precision, spec.channels_last), keep_going=keep_going)


@dataclass(frozen=True)
class TestResult:
    """The best weights scored on the test split, with the report the record and the event carry."""

    evaluation: Evaluation
    report: Report


def evaluated_event(split: str, epoch: int, evaluation: Evaluation, report: Report | None = None) -> Evaluated:
    """An evaluation as the event that reports it: its confusion matrix, per-class scores and predictions."""
    report = report or classification_report(evaluation.labels, evaluation.predictions, len(CLASS_NAMES))
    return Evaluated(split=split, epoch=epoch, accuracy=evaluation.accuracy, loss=evaluation.loss,
                     confusion=tuple(tuple(int(c) for c in row) for row in report.confusion),
                     precision=tuple(float(p) for p in report.precision),
                     recall=tuple(float(r) for r in report.recall), class_names=CLASS_NAMES,
                     f1=tuple(float(f) for f in report.f1), predictions=tuple(evaluation.predictions.tolist()),
                     confidences=tuple(evaluation.confidences.tolist()))
