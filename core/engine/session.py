"""What one run trains with, built from its config: the device, the model, the data's splits, the
optimiser and its schedule, the random generator, the trainer's parts and the progress so far.

Built in one order, always (``prepare``): the seeds, the model and the data are drawn in the same
sequence by a new run and by a resumed one, which then overwrites each piece from last.pt
(fmtui.core.engine.resume), so a resume reproduces the uninterrupted run exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.augment import progressive_side
from fmtui.core.data.fashion_mnist import CLASS_NAMES, FashionMNIST
from fmtui.core.data.splits import Splits, make_splits
from fmtui.core.engine.evaluation import TestResult, evaluate_checkpoint
from fmtui.core.engine.loop import (
    EpochResult,
    Evaluation,
    check_compiler,
    evaluate,
    make_optimizer,
    make_scheduler,
    resolve_device,
    train_one_epoch,
    uses_bf16,
)
from fmtui.core.engine.memory import keep_freed_memory
from fmtui.core.engine.metrics import classification_report
from fmtui.core.engine.parts import Parts, make_parts
from fmtui.core.models import ModelSpec, build_model, check_batch_size, check_side, model_spec
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.core.records.summary import Summary


@dataclass
class Progress:
    """What the run has done so far, beyond what its parts keep; saved with the training state."""

    epoch: int = 0  # last complete epoch
    elapsed: float = 0.0  # training and validation seconds over every epoch, pauses excluded
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl's rows


@dataclass
class Session:
    config: TrainConfig
    device: torch.device
    spec: ModelSpec
    model: nn.Module
    forward: nn.Module  # the model as it is called in training: compiled, where the config says so
    splits: Splits
    optimizer: torch.optim.Optimizer
    scheduler: Any
    generator: torch.Generator  # shuffling and augmentation
    parts: Parts
    progress: Progress

    @property
    def steps_per_epoch(self) -> int:
        return len(self.splits.train) // self.config.batch_size

    def train_epoch(self, epoch: int, at_batch_boundary: Callable[[int], tuple[bool, float]],
                    on_progress: Callable[[int, int, float, int, float], None]) -> EpochResult:
        self.parts.epoch_started(epoch)
        side = progressive_side(self.config.resize_from, self.config.resize_until, epoch, self.config.epochs)
        return train_one_epoch(self.forward, self.splits.train, self.optimizer, self.scheduler, config=self.config,
                               device=self.device, channels_last=self.spec.channels_last, generator=self.generator,
                               after_step=self.parts.stepped, at_batch_boundary=at_batch_boundary,
                               on_progress=on_progress, side=side)

    def validate(self, keep_going: Callable[[], bool]) -> tuple[Evaluation, float]:
        """The validation split scored with the weights validation uses, and the seconds it took."""
        began = time.perf_counter()
        val = evaluate(self.parts.evaluated_model(self.model), self.splits.val, device=self.device,
                       channels_last=self.spec.channels_last, tta_flip=self.config.tta_flip,
                       bf16=uses_bf16(self.device, self.config.cpu_precision, self.spec.channels_last),
                       keep_going=keep_going)
        return val, time.perf_counter() - began

    def test(self, best_path: Path, keep_going: Callable[[], bool]) -> TestResult:
        """The best weights (best.pt) scored on the test split exactly as `fmtui eval` scores them, so the
        two always agree."""
        evaluation = evaluate_checkpoint(load_checkpoint(best_path), self.splits.test, self.device,
                                         keep_going=keep_going)
        return TestResult(evaluation, classification_report(evaluation.labels, evaluation.predictions,
                                                             len(CLASS_NAMES)))

    def epoch_done(self, epoch: int, result: EpochResult, val: Evaluation,
                   val_seconds: float) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Count a validated epoch in: its metrics row (as metrics.jsonl lists it) and, when the parts find
        it the best so far, the checkpoint to save."""
        seconds = result.seconds + val_seconds
        best = self.parts.validated(epoch, val, self.model)
        row = {"epoch": epoch, "train_loss": result.loss, "train_accuracy": result.accuracy, "val_loss": val.loss,
               "val_accuracy": val.accuracy, "lr": result.lr, "seconds": seconds,
               "images_per_second": result.images / max(result.seconds, 1e-9)}
        self.progress.elapsed += seconds
        self.progress.history.append(row)
        self.progress.epoch = epoch
        return row, best

    @property
    def finished_training(self) -> bool:
        """Whether it has trained all it will: every epoch, or stopped early (last.pt is saved before that
        decision, which depends on nothing else). A resumed run in this state goes on to its test."""
        return self.progress.epoch >= self.config.epochs or self.parts.early_stopping.triggered

    def summarised(self, summary: Summary) -> Summary:
        """``summary`` as it says how far the run has come."""
        best = self.parts.best
        return summary.progressed(self.progress.epoch, best.epoch or None, best.val_loss if best.epoch else None,
                                  best.val_accuracy)


def prepare(config: TrainConfig, load_data: Callable[[], FashionMNIST]) -> Session:
    """Everything a run of ``config`` trains with, as a new run starts it."""
    device = resolve_device(config.device)
    if config.compile:
        check_compiler(device)
    spec = model_spec(config.model)
    torch.manual_seed(config.seed)  # weights and dropout
    # Built before the data loads: a setting the model cannot use (or missing pretrained weights)
    # is reported at once, not after seconds of decoding images.
    model = build_model(config)
    check_batch_size(model, config.batch_size)
    check_side(model, config.resize_from)
    splits = make_splits(load_data(), val_size=config.val_size, train_subset=config.train_subset,
                         batch_size=config.batch_size, device=device)
    generator = torch.Generator().manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        keep_freed_memory()
    model = model.to(device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, len(splits.train) // config.batch_size)
    parts = make_parts(config, model)
    forward = torch.compile(model) if config.compile else model
    return Session(config, device, spec, model, forward, splits, optimizer, scheduler, generator, parts, Progress())
