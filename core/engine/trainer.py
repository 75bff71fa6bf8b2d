"""The trainer: runs the loop on a worker thread, reports through events, keeps the run record.

    trainer = Trainer(config, data_dir=..., runs_dir=...)
    trainer.subscribe(print)          # any callable taking an Event; called on the bus thread
    trainer.start()                   # returns at once; training runs on a worker thread
    trainer.pause(); trainer.resume(); trainer.stop()   # safe from any thread
    outcome = trainer.wait()

Stopping takes effect at the next batch boundary and still ends the run properly: the best
weights are evaluated on the test split and the record is completed. An interrupted run (a signal)
skips or abandons the test evaluation so the process can exit promptly; it can be resumed from its
last complete epoch. A second interrupt (``hurry``) also abandons a validation in progress. Either
way the record is written whole before the run ends, and a run interrupted before its record was
begun (while its data loaded) leaves none.

The run directory's lock (fmtui.core.records.lock.RunLock) is held from before the data loads (a resume) or
from the directory's creation (a new run) until the record is final.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import (
    CLASS_NAMES,
    FashionMNIST,
    Splits,
    default_data_dir,
    load_fashion_mnist,
    make_splits,
    shared_pixels,
)
from fmtui.core.engine.evaluation import TestResult, evaluate_checkpoint, evaluated_event
from fmtui.core.engine.events import (
    BatchEnded,
    DataLoaded,
    Diverged,
    EarlyStopped,
    EpochEnded,
    Event,
    EventBus,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
    Subscriber,
    TestStarted,
)
from fmtui.core.engine.loop import (
    Abandoned,
    check_compiler,
    evaluate,
    make_ema,
    make_optimizer,
    make_scheduler,
    resolve_device,
    train_one_epoch,
)
from fmtui.core.engine.metrics import classification_report
from fmtui.core.engine.requests import Control
from fmtui.core.engine.resume import (
    RESUMABLE,
    Progress,
    check_matches,
    finished_training,
    restore,
    resume_config,
    snapshot,
    summary_fields,
)
from fmtui.core.errors import FmtuiError
from fmtui.core.live.control_socket import ControlServer
from fmtui.core.live.event_log import EventLog
from fmtui.core.models import build_model, count_parameters, model_spec
from fmtui.core.records.checkpoints import load_checkpoint, make_checkpoint
from fmtui.core.records.lock import RunLock
from fmtui.core.records.run_dir import RunRecord, new_summary

__all__ = ["Outcome", "RESUMABLE", "Trainer", "resume_config"]


@dataclass(frozen=True)
class Outcome:
    status: str  # finished, stopped, pruned (by a sweep), interrupted, diverged or failed
    run_dir: Path | None  # None when the run ended before its record was begun
    test_accuracy: float | None
    error: str | None = None
    user_error: bool = False


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
        self._control = Control()
        self._thread: threading.Thread | None = None
        self._outcome: Outcome | None = None
        self._record: RunRecord | None = None
        self._lock: RunLock | None = None  # the run directory's, once there is one
        # Other processes follow the run through its event log and steer it through its control socket.
        # The log has a bus of its own: a stuck subscriber here (a terminal on hold) never delays viewers.
        self._event_log = EventLog()
        self._log_bus = EventBus()
        self._log_bus.subscribe(self._event_log)
        self._control_server: ControlServer | None = None
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
        """End the run at the next batch boundary: "stopped" (a person asked: the best weights are still
        tested) or "interrupted" (a signal: not tested, resumable)."""
        if self._control.stop(reason):
            self._emit(StopRequested(reason))

    def hurry(self) -> bool:
        """A second interrupt: abandon the epoch or evaluation in progress as well; the record keeps the
        last complete epoch. True when no record has been begun (the data is still loading), so the
        process may exit at once without waiting for this thread."""
        return self._control.rush()

    def fail(self, error: FmtuiError) -> None:
        """End the run as failed with ``error`` at its next batch boundary (say, its output was lost)."""
        self._control.fail(error)

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
        self._log_bus.close()
        return self._outcome

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Train to the end in this thread. Never raises: failures become a RunFailed event."""
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
        finally:
            if self._control_server is not None:
                self._control_server.close()
            # Viewers take a free lock without a final event in the log for a killed process: the
            # final event goes into the log first (bounded: a stuck subscriber must not keep the lock).
            self._event_log.done.wait(5.0)
            if self._lock is not None:
                self._lock.release()  # the record is final
        return self._outcome

    def _run(self) -> Outcome:
        config = self.config
        resume = self.resume_record
        state = None
        if resume is not None:
            # Locked before anything loads: a second resume of this run stops here, not after its data.
            self._lock = RunLock(resume.path)
            self._lock.acquire()
            state = resume.load_state()
            check_matches(state, config, resume)
        device = resolve_device(config.device)
        if config.compile:
            check_compiler(device)
        spec = model_spec(config.model)
        torch.manual_seed(config.seed)  # weights and dropout
        # Built before the data loads: a setting the model cannot use (or missing pretrained weights)
        # is reported at once, not after seconds of decoding images.
        model = build_model(config)
        data = self._data if self._data is not None else load_fashion_mnist(self.data_dir)
        splits = make_splits(data, val_size=config.val_size, train_subset=config.train_subset,
                             batch_size=config.batch_size, device=device)

        generator = torch.Generator().manual_seed(config.seed)  # shuffling and augmentation
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        model = model.to(device)
        if spec.channels_last:
            model = model.to(memory_format=torch.channels_last)
        steps_per_epoch = len(splits.train) // config.batch_size
        optimizer = make_optimizer(model, config)
        scheduler = make_scheduler(optimizer, config, steps_per_epoch)
        ema = make_ema(model, config.ema)
        forward = torch.compile(model) if config.compile else model
        progress = Progress()
        if state is not None:
            restore(state, model, ema, optimizer, scheduler, generator, device, progress, resume)

        if not self._control.begin_recording():
            return self._ended_before_start(progress)
        record, summary = self._begin_record(config, device, count_parameters(model))
        self._serve_control(record)

        first_epoch = progress.epoch + 1
        self._emit(RunStarted(
            run_id=record.run_id, run_dir=str(record.path), preset=config.preset, model=config.model,
            config=config.to_dict(), model_summary=spec.summary(config), parameters=count_parameters(model),
            device=_device_name(device), epochs=config.epochs, first_epoch=first_epoch,
            batches_per_epoch=steps_per_epoch, train_size=len(splits.train), val_size=len(splits.val),
            test_size=len(splits.test), class_names=CLASS_NAMES))
        self._emit(DataLoaded(*shared_pixels(splits.val), *shared_pixels(splits.test)))

        run_start = time.perf_counter()
        status = "finished"
        # A resumed run that had already stopped early goes straight to its test.
        last_epoch = progress.epoch if finished_training(progress, config) else config.epochs
        for epoch in range(first_epoch, last_epoch + 1):
            self._epoch = epoch
            if hasattr(model, "freeze_backbone"):  # pretrained layers wait while a new head settles
                model.freeze_backbone(epoch <= config.freeze_epochs)
            result = train_one_epoch(
                forward, splits.train, optimizer, scheduler, config=config, device=device,
                channels_last=spec.channels_last, generator=generator, ema=ema,
                at_batch_boundary=self._at_batch_boundary,
                on_progress=lambda b, n, loss, images, secs, epoch=epoch: self._report_batch(
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
            try:
                val = evaluate(eval_model, splits.val, device=device, channels_last=spec.channels_last,
                               tta_flip=config.tta_flip, cpu_bf16=config.cpu_bf16, keep_going=self._keep_validating)
            except Abandoned:  # a second interrupt: this epoch is given up, the record keeps the last
                status = "interrupted"
                break
            seconds = result.seconds + time.perf_counter() - val_start
            progress.elapsed += seconds
            improved = val.loss < progress.best_val_loss
            best = None
            if improved:
                progress.best_epoch, progress.best_val_loss, progress.best_val_accuracy = epoch, val.loss, val.accuracy
                progress.bad_epochs = 0
                best = make_checkpoint(config, eval_model.state_dict(), epoch, val.loss, val.accuracy)
            else:
                progress.bad_epochs += 1
            row = {"epoch": epoch, "train_loss": result.loss, "train_accuracy": result.accuracy,
                   "val_loss": val.loss, "val_accuracy": val.accuracy, "lr": optimizer.param_groups[0]["lr"],
                   "seconds": seconds, "images_per_second": result.images / max(result.seconds, 1e-9)}
            progress.history.append(row)
            progress.epoch = epoch
            # One change on disk: a full disk leaves the record as the previous epoch left it.
            record.write_epoch(progress.history,
                               snapshot(config, model, ema, optimizer, scheduler, generator, device, progress),
                               {**summary, **summary_fields(progress)}, best)
            summary.update(summary_fields(progress))
            self._emit(EpochEnded(epochs=config.epochs, best_epoch=progress.best_epoch,
                                  elapsed_seconds=progress.elapsed, **row))
            self._emit(evaluated_event("validation", epoch, val))
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
            try:
                test = self._evaluate_best(record, splits, device)
            except Abandoned:
                pass
        if self._control.seal() == "interrupted":
            # Interrupted during the test (or just after it): the run ends interrupted, untested, as
            # its log said; resuming it runs the test.
            status, test = "interrupted", None
        summary.update(summary_fields(progress), status=status,
                       test_accuracy=test.evaluation.accuracy if test else None,
                       test_loss=test.evaluation.loss if test else None,
                       ended_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                       duration_seconds=summary.get("duration_seconds", 0.0) + time.perf_counter() - run_start)
        record.write_outcome(summary, test.evaluation if test else None, test.report.confusion if test else None,
                             CLASS_NAMES)
        if test:
            self._emit(evaluated_event("test", progress.best_epoch, test.evaluation, test.report))
        self._emit(RunFinished(
            status=status, epochs_completed=progress.epoch, best_epoch=progress.best_epoch or None,
            best_val_accuracy=progress.best_val_accuracy, test_accuracy=summary["test_accuracy"],
            test_loss=summary["test_loss"], seconds=summary["duration_seconds"], run_dir=str(record.path)))
        return Outcome(status, record.path, summary["test_accuracy"])

    def _begin_record(self, config: TrainConfig, device: torch.device, parameters: int) -> tuple[RunRecord, dict]:
        """Open the run's record: a new directory (locked from its creation), or the resumed one (locked
        since before its data loaded) marked running again."""
        started = datetime.now().astimezone()
        if self.resume_record is not None:
            record = self.resume_record
            record.remove_stale_temporaries()  # safe: we hold the lock, so no one else is writing them
            summary = record.read_summary()
            summary.update(status="running", pid=os.getpid(), error=None, ended_at=None, device=str(device))
            record.write_summary(summary)
            self._record = record
            return record, summary
        record = RunRecord.create(self.runs_dir, config.preset, started)
        self._lock = RunLock(record.path)
        try:
            self._lock.acquire()
            summary = new_summary(record, config, started, str(device), parameters)
            record.write_config(config)
            record.write_summary(summary)
        except BaseException:
            # Not yet a record (no summary): leave no empty directory behind.
            self._lock.release()
            shutil.rmtree(record.path, ignore_errors=True)
            raise
        self._record = record
        return record, summary

    def _serve_control(self, record: RunRecord) -> None:
        server = ControlServer(record.path, {"pause": self.pause, "resume": self.resume,
                                             "stop": lambda: self.stop("stopped"),
                                             "ping": lambda: "paused" if self.paused else "ok"})
        try:
            server.start()
        except OSError:
            return  # a file system without sockets: the run goes on, controlled from this process only
        self._control_server = server

    def _ended_before_start(self, progress: Progress) -> Outcome:
        """Stopped while the data loaded: nothing was trained, so nothing is recorded (a resumed run's
        record is left exactly as it was)."""
        status = self._control.stop_reason or "interrupted"
        run_dir = self.resume_record.path if self.resume_record is not None else None
        self._control.seal()
        self._emit(RunFinished(status=status, epochs_completed=progress.epoch,
                               best_epoch=progress.best_epoch or None, best_val_accuracy=progress.best_val_accuracy,
                               test_accuracy=None, test_loss=None, seconds=0.0,
                               run_dir=str(run_dir) if run_dir else None))
        return Outcome(status, run_dir, None)

    def _evaluate_best(self, record: RunRecord, splits: Splits, device: torch.device) -> TestResult:
        """Evaluate best.pt exactly as `fmtui eval` does, so the two always agree."""
        checkpoint = load_checkpoint(record.best_path)
        evaluation = evaluate_checkpoint(checkpoint, splits.test, device, keep_going=self._keep_testing)
        return TestResult(evaluation, classification_report(evaluation.labels, evaluation.predictions,
                                                             len(CLASS_NAMES)))

    # --- helpers on the worker thread ------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._log_bus.publish(event)
        self.bus.publish(event)

    def _keep_validating(self) -> bool:
        self._control.check()
        return not self._control.hurry  # a first interrupt lets the epoch's validation finish and be saved

    def _keep_testing(self) -> bool:
        self._control.check()
        return self._control.stop_reason != "interrupted"

    def _at_batch_boundary(self, batch: int) -> tuple[bool, float]:
        self._batch = batch
        self._control.check()
        if self._control.paused:
            began = time.perf_counter()
            self._emit(Paused(self._epoch, batch))
            self._control.wait_until_unpaused()
            self._control.check()
            if self._control.stop_reason:
                return True, time.perf_counter() - began
            self._emit(Resumed(self._epoch, batch))
            return False, time.perf_counter() - began
        return self._control.stop_reason is not None, 0.0

    def _report_batch(self, epoch: int, batch: int, batches: int, loss: float, images: int, seconds: float,
                      progress: Progress, steps_per_epoch: int) -> None:
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


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
