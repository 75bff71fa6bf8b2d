"""The trainer: runs the loop on a worker thread, reports through events, keeps the run record.

    trainer = Trainer(config, data_dir=..., runs_dir=...)
    trainer.subscribe(print)          # any callable taking an Event; called on the bus thread
    trainer.start()                   # returns at once; training runs on a worker thread
    trainer.pause(); trainer.resume(); trainer.stop()   # safe from any thread
    outcome = trainer.wait()

Stopping takes effect at the next batch boundary and still ends the run properly: the best
weights are evaluated on the test split and the record is completed. An interrupted run (a signal)
skips the test evaluation so the process can exit promptly; it can be resumed from its last
complete epoch.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from core.config import TrainConfig
from core.data import CLASS_NAMES, FashionMNIST, Splits, default_data_dir, load_fashion_mnist, make_splits
from core.errors import FmtuiError, RecordError
from core.evaluation import evaluate_checkpoint
from core.events import (BatchEnded, Diverged, EarlyStopped, EpochEnded, Evaluated, Event, EventBus, Paused,
                         Resumed, RunFailed, RunFinished, RunStarted, StopRequested, Subscriber, TestStarted)
from core.loop import (Evaluation, evaluate, make_optimizer, make_scheduler, resolve_device, train_one_epoch)
from core.metrics import Report, classification_report
from core.models import build_model, count_parameters, model_spec
from core.records import (FORMAT_VERSION, STATE_FORMAT, RunRecord, effective_status, load_checkpoint,
                          make_checkpoint, new_summary)

RESUMABLE = ("interrupted", "stopped", "failed", "killed", "running")  # running: on another machine


@dataclass(frozen=True)
class Outcome:
    status: str  # finished, stopped, pruned (by a sweep), interrupted, diverged or failed
    run_dir: Path | None
    test_accuracy: float | None
    error: str | None = None
    user_error: bool = False


class _Control:
    """Pause and stop requests from other threads, honoured at batch boundaries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.stop_reason: str | None = None

    def pause(self) -> bool:
        with self._lock:
            if self.stop_reason or not self._unpaused.is_set():
                return False
            self._unpaused.clear()
            return True

    def resume(self) -> bool:
        with self._lock:
            if self._unpaused.is_set():
                return False
            self._unpaused.set()
            return True

    def stop(self, reason: str) -> bool:
        with self._lock:
            first = self.stop_reason is None
            # An interrupt outranks a plain stop: the process is about to go away.
            if first or reason == "interrupted":
                self.stop_reason = reason
            self._unpaused.set()
            return first

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    def wait_until_unpaused(self) -> None:
        self._unpaused.wait()


class Trainer:
    def __init__(self, config: TrainConfig, *, data_dir: Path | None = None, runs_dir: Path = Path("runs"),
                 resume: RunRecord | None = None, data: FashionMNIST | None = None,
                 bus: EventBus | None = None) -> None:
        self.config = config
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.runs_dir = Path(runs_dir)
        self.resume_record = resume
        self.bus = bus or EventBus()
        self._data = data
        self._control = _Control()
        self._thread: threading.Thread | None = None
        self._outcome: Outcome | None = None
        self._record: RunRecord | None = None
        self._epoch = self._batch = 0

    # --- controls, callable from any thread --------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self.bus.subscribe(subscriber)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="fmtui-trainer", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._control.pause()

    def resume(self) -> None:
        self._control.resume()

    def stop(self, reason: str = "stopped") -> None:
        if self._control.stop(reason) or reason == "interrupted":
            self._emit(StopRequested(reason))

    @property
    def paused(self) -> bool:
        return self._control.paused

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """Block until the run has ended and every event is delivered; None if ``timeout`` passed first."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        self.bus.close()
        return self._outcome

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Train to the end in this thread. Never raises: failures become a RunFailed event."""
        record = None
        try:
            self._outcome = self._run()
        except Exception as exc:
            user_error = isinstance(exc, FmtuiError)
            record = self._record
            message = str(exc) if user_error else f"{type(exc).__name__}: {exc}"
            if record is not None:
                self._write_failure(record, message)
            self._emit(RunFailed(message, user_error, str(record.path) if record else None,
                                 "" if user_error else traceback.format_exc()))
            self._outcome = Outcome("failed", record.path if record else None, None, message, user_error)
        return self._outcome

    def _run(self) -> Outcome:
        config = self.config
        device = resolve_device(config.device)
        spec = model_spec(config.model)
        torch.manual_seed(config.seed)  # weights and dropout
        # Built before the data loads: a setting the model cannot use (or missing pretrained weights)
        # is reported at once, not after seconds of decoding images.
        model = build_model(config)
        data = self._data if self._data is not None else load_fashion_mnist(self.data_dir)
        splits = make_splits(data, val_size=config.val_size, train_subset=config.train_subset,
                             batch_size=config.batch_size, device=device)
        state = self.resume_record.load_state() if self.resume_record else None

        generator = torch.Generator().manual_seed(config.seed)  # shuffling and augmentation
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        model = model.to(device)
        if spec.channels_last:
            model = model.to(memory_format=torch.channels_last)
        steps_per_epoch = len(splits.train) // config.batch_size
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, steps_per_epoch)
        ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
               if config.ema else None)
        forward = torch.compile(model) if config.compile else model
        progress = _Progress()
        if state is not None:
            _restore(state, model, ema, optimizer, scheduler, generator, device, progress)

        started = datetime.now().astimezone()
        if self.resume_record is not None:
            record = self.resume_record
            record.remove_stale_temporaries()
            summary = record.read_summary()
            summary.update(status="running", pid=os.getpid(), error=None, ended_at=None, device=str(device))
        else:
            record = RunRecord.create(self.runs_dir, config.preset, started)
            summary = new_summary(record, config, started, str(device), count_parameters(model))
            record.write_config(config)
        self._record = record
        record.write_summary(summary)

        first_epoch = progress.epoch + 1
        self._emit(RunStarted(
            run_id=record.run_id, run_dir=str(record.path), preset=config.preset, model=config.model,
            config=config.to_dict(), model_summary=spec.summary(config), parameters=count_parameters(model),
            device=_device_name(device), epochs=config.epochs, first_epoch=first_epoch,
            batches_per_epoch=steps_per_epoch, train_size=len(splits.train), val_size=len(splits.val),
            test_size=len(splits.test), class_names=CLASS_NAMES))

        run_start = time.perf_counter()
        status = "finished"
        for epoch in range(first_epoch, config.epochs + 1):
            self._epoch = epoch
            if hasattr(model, "freeze_backbone"):  # pretrained layers wait while a new head settles
                model.freeze_backbone(epoch <= config.freeze_epochs)
            result = train_one_epoch(
                forward, splits.train, optimizer, scheduler, config=config, device=device,
                channels_last=spec.channels_last, generator=generator, ema=ema,
                at_batch_boundary=self._at_batch_boundary,
                on_progress=lambda b, n, loss, images, secs: self._report_batch(
                    epoch, b, n, loss, images, secs, progress, steps_per_epoch))
            if result.diverged:
                self._emit(Diverged(epoch, self._batch, result.loss))
                status = "diverged"
                break
            if result.stopped:
                status = self._control.stop_reason or "stopped"
                break
            eval_model = ema.module if ema is not None else model
            val_start = time.perf_counter()
            val = evaluate(eval_model, splits.val, device=device, channels_last=spec.channels_last,
                           tta_flip=config.tta_flip, cpu_bf16=config.cpu_bf16)
            seconds = result.seconds + time.perf_counter() - val_start
            progress.elapsed += seconds
            improved = val.loss < progress.best_val_loss
            if improved:
                progress.best_epoch, progress.best_val_loss, progress.best_val_accuracy = epoch, val.loss, val.accuracy
                progress.bad_epochs = 0
                record.save_best(make_checkpoint(config, eval_model.state_dict(), epoch, val.loss, val.accuracy))
            else:
                progress.bad_epochs += 1
            row = {"epoch": epoch, "train_loss": result.loss, "train_accuracy": result.accuracy,
                   "val_loss": val.loss, "val_accuracy": val.accuracy, "lr": optimizer.param_groups[0]["lr"],
                   "seconds": seconds, "images_per_second": result.images / max(result.seconds, 1e-9)}
            progress.history.append(row)
            progress.epoch = epoch
            record.write_history(progress.history)
            record.save_state(_snapshot(config, model, ema, optimizer, scheduler, generator, device, progress))
            summary.update(_summary_progress(progress))
            record.write_summary(summary)
            self._emit(EpochEnded(epochs=config.epochs, best_epoch=progress.best_epoch,
                                  elapsed_seconds=progress.elapsed, **row))
            self._emit(_evaluated("validation", epoch, val))
            if config.patience and progress.bad_epochs >= config.patience and epoch < config.epochs:
                self._emit(EarlyStopped(epoch, progress.best_epoch, config.patience))
                break
            if self._control.stop_reason and epoch < config.epochs:
                status = self._control.stop_reason
                break

        test = None
        # An interrupted run must exit promptly; a pruned one (a sweep's hopeless trial) is not worth testing.
        if status not in ("interrupted", "pruned") and progress.best_epoch:
            self._emit(TestStarted(progress.best_epoch, len(splits.test)))
            test = self._evaluate_best(record, splits, device)
            record.write_confusion(test.report.confusion, CLASS_NAMES)
            self._emit(_evaluated("test", progress.best_epoch, test.evaluation, test.report))
        summary.update(_summary_progress(progress), status=status,
                       test_accuracy=test.evaluation.accuracy if test else None,
                       test_loss=test.evaluation.loss if test else None,
                       ended_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                       duration_seconds=summary.get("duration_seconds", 0.0) + time.perf_counter() - run_start)
        record.write_summary(summary)
        self._emit(RunFinished(
            status=status, epochs_completed=progress.epoch, best_epoch=progress.best_epoch or None,
            best_val_accuracy=progress.best_val_accuracy, test_accuracy=summary["test_accuracy"],
            test_loss=summary["test_loss"], seconds=summary["duration_seconds"], run_dir=str(record.path)))
        return Outcome(status, record.path, summary["test_accuracy"])

    def _evaluate_best(self, record: RunRecord, splits: Splits, device: torch.device) -> _TestResult:
        """Evaluate best.pt exactly as `fmtui eval` does, so the two always agree."""
        checkpoint = load_checkpoint(record.best_path)
        evaluation = evaluate_checkpoint(checkpoint, splits.test, device)
        return _TestResult(evaluation, classification_report(evaluation.labels, evaluation.predictions,
                                                             len(CLASS_NAMES)))

    # --- helpers on the worker thread ------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self.bus.publish(event)

    def _at_batch_boundary(self, batch: int) -> tuple[bool, float]:
        self._batch = batch
        if self._control.paused:
            began = time.perf_counter()
            self._emit(Paused(self._epoch, batch))
            self._control.wait_until_unpaused()
            if self._control.stop_reason:
                return True, time.perf_counter() - began
            self._emit(Resumed(self._epoch, batch))
            return False, time.perf_counter() - began
        return self._control.stop_reason is not None, 0.0

    def _report_batch(self, epoch: int, batch: int, batches: int, loss: float, images: int, seconds: float,
                      progress: _Progress, steps_per_epoch: int) -> None:
        # Elapsed time covers every epoch since the run began (a resumed run's earlier ones too), so
        # the pace is taken over the same span.
        elapsed = progress.elapsed + seconds
        done = (epoch - 1) * steps_per_epoch + batch
        todo = self.config.epochs * steps_per_epoch - done
        eta = elapsed / done * todo if done else None
        self._emit(BatchEnded(epoch, self.config.epochs, batch, batches, loss, images / max(seconds, 1e-9),
                              elapsed, eta))

    def _write_failure(self, record: RunRecord, message: str) -> None:
        try:
            summary = record.read_summary()
            summary.update(status="failed", error=message,
                           ended_at=datetime.now().astimezone().isoformat(timespec="seconds"))
            record.write_summary(summary)
        except FmtuiError:
            pass  # the failure being reported may be this very disk; the event still carries it


@dataclass
class _Progress:
    """What the run has achieved so far; saved with the training state."""

    epoch: int = 0  # last complete epoch
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    best_val_accuracy: float | None = None
    bad_epochs: int = 0
    elapsed: float = 0.0
    history: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.history = self.history or []


@dataclass(frozen=True)
class _TestResult:
    evaluation: Evaluation
    report: Report


def _evaluated(split: str, epoch: int, evaluation: Evaluation, report: Report | None = None) -> Evaluated:
    report = report or classification_report(evaluation.labels, evaluation.predictions, len(CLASS_NAMES))
    return Evaluated(split=split, epoch=epoch, accuracy=evaluation.accuracy, loss=evaluation.loss,
                     confusion=tuple(tuple(int(c) for c in row) for row in report.confusion),
                     precision=tuple(float(p) for p in report.precision),
                     recall=tuple(float(r) for r in report.recall), class_names=CLASS_NAMES)


def _summary_progress(progress: _Progress) -> dict[str, Any]:
    return {"epochs": progress.epoch, "best_epoch": progress.best_epoch or None,
            "best_val_loss": progress.best_val_loss if progress.best_epoch else None,
            "best_val_accuracy": progress.best_val_accuracy}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def _snapshot(config: TrainConfig, model: nn.Module, ema: nn.Module | None, optimizer: Any, scheduler: Any,
              generator: torch.Generator, device: torch.device, progress: _Progress) -> dict[str, Any]:
    """Everything needed to continue after this epoch as if the run had never stopped."""
    return {
        "format": STATE_FORMAT, "version": FORMAT_VERSION, "config": config.to_dict(),
        "model": model.state_dict(), "ema": ema.state_dict() if ema is not None else None,
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "progress": {k: v for k, v in vars(progress).items()},
    }


def _restore(state: dict[str, Any], model: nn.Module, ema: nn.Module | None, optimizer: Any, scheduler: Any,
             generator: torch.Generator, device: torch.device, progress: _Progress) -> None:
    model.load_state_dict(state["model"])
    if ema is not None and state.get("ema") is not None:
        ema.load_state_dict(state["ema"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    for key, value in state["progress"].items():
        setattr(progress, key, value)


def resume_config(record: RunRecord, device: str | None = None) -> TrainConfig:
    """The configuration to continue a run with; only the device may change."""
    summary = record.read_summary()
    status = effective_status(summary)
    if status == "running":
        raise RecordError(f"{record.path} is still being trained by process {summary.get('pid')} on this machine; "
                          f"stop that process first.")
    if status not in RESUMABLE:
        raise RecordError(f"{record.path} has status '{summary.get('status')}'; only interrupted, stopped or "
                          f"failed runs can be resumed.")
    if not record.state_path.exists():
        raise RecordError(f"{record.path} has no complete epoch to resume from ({record.state_path.name} is "
                          f"missing); start a new run instead.")
    config = record.read_config()
    return replace(config, device=device) if device else config
