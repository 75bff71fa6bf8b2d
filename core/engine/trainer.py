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

What the run trains with is a Session (fmtui.core.engine.session); what it keeps beyond the loop (the
best checkpoint, early stopping, the weight average, backbone freezing) are its parts, each with its
own state (fmtui.core.engine.parts). What other processes see of it (its event log and control
socket, fmtui.core.live.serve) is attached by the face that wants it, through ``attach``.

The run directory's lock (fmtui.core.records.lock.RunLock) is held from before the data loads (a resume) or
from the directory's creation (a new run) until the record is final. On a CPU, keep other torch work off
long-lived threads while a run trains (docs/architecture.md says why).
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import FashionMNIST, default_data_dir, load_fashion_mnist
from fmtui.core.engine import reports
from fmtui.core.engine.bus import EventBus
from fmtui.core.engine.evaluation import TestResult, evaluated_event
from fmtui.core.engine.events import (
    Diverged,
    EarlyStopped,
    Event,
    Paused,
    Resumed,
    RunFailed,
    StopRequested,
    Subscriber,
    TestStarted,
)
from fmtui.core.engine.loop import Abandoned
from fmtui.core.engine.recording import Recorder
from fmtui.core.engine.requests import Control
from fmtui.core.engine.resume import restore, resume_config
from fmtui.core.engine.session import Session, prepare
from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.records.status import RunStatus

__all__ = ["Attachment", "Outcome", "Trainer", "resume_config"]


@dataclass(frozen=True)
class Outcome:
    status: RunStatus  # a final one (RunStatus.final)
    run_dir: Path | None  # None when the run ended before its record was begun
    test_accuracy: float | None
    error: str | None = None
    user_error: bool = False


class Attachment(Protocol):
    """Something a face attaches to one run for its whole life (its event log and control socket:
    fmtui.core.live.serve.LiveRun). Every call comes from the worker thread, except that ``publish``
    also takes the StopRequested of a stop asked for on another thread."""

    def publish(self, event: Event) -> None: ...  # each event as it is emitted: must not block
    def record_begun(self, run_dir: Path, trainer: Trainer) -> None: ...  # this process holds its lock
    def run_ended(self) -> None: ...  # the final event is out; the lock is released next: be brief


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
        self._data_source: Path | None = None  # where the data was read from, once loaded
        self._attachments: list[Attachment] = []
        self._control = Control()
        self._thread: threading.Thread | None = None
        self._outcome: Outcome | None = None
        self._recorder = Recorder(config, self.runs_dir, resume)
        self._epoch = self._batch = 0

    # --- controls, callable from any thread --------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self.bus.subscribe(subscriber)

    def attach(self, attachment: Attachment) -> None:
        """Before ``start``: ``attachment`` follows the run from its first event to its last."""
        self._attachments.append(attachment)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="fmtui-trainer", daemon=True)
        self._thread.start()

    def pause(self) -> bool:
        """True when the run pauses at its next training batch (or, asked during the last validation,
        before its test); False when it is paused already, stopping, or testing, where nothing is left to
        pause at."""
        return self._control.pause()

    def resume(self) -> bool:
        """True when the run was paused and now goes on."""
        return self._control.resume()

    def stop(self, reason: RunStatus | str = RunStatus.STOPPED) -> bool:
        """End the run at the next batch boundary: stopped (a person asked: the best weights are still
        tested), interrupted (a signal: not tested, resumable) or pruned (by a sweep: not tested). False
        when it changes nothing."""
        reason = RunStatus(reason)
        if self._control.stop(reason):
            self._emit(StopRequested(reason))
            return True
        return False

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
        return self._outcome

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Train to the end in this thread. Never raises: failures become a RunFailed event."""
        try:
            self._outcome = self._run()
        except Exception as exc:
            user_error = isinstance(exc, FmtuiError)
            record = self._recorder.record
            message = str(exc) if user_error else f"{type(exc).__name__}: {exc}"
            self._recorder.fail(message)
            self._emit(RunFailed(message, user_error, str(record.path) if record else None,
                                 "" if user_error else traceback.format_exc()))
            self._outcome = Outcome(RunStatus.FAILED, record.path if record else None, None, message, user_error)
        finally:
            for attachment in self._attachments:
                attachment.run_ended()
            self._recorder.release()  # the record is final
        return self._outcome

    def _run(self) -> Outcome:
        state = self._recorder.load_state()
        session = prepare(self.config, self._load_data)
        if state is not None:
            restore(state, session, self.resume_record)
        if not self._control.begin_recording():
            return self._ended_before_start(session)
        record = self._recorder.begin(session, self._data_source)
        for attachment in self._attachments:
            attachment.record_begun(record.path, self)
        self._emit(reports.run_started(session, record.run_id, record.path))
        self._emit(reports.data_loaded(session))
        began = time.perf_counter()
        status = self._train(session)
        if self._control.end_training():  # granted during the last validation: honoured before the test
            self._hold(self._batch)
        test = self._test(session, record, status)
        if self._control.seal() == RunStatus.INTERRUPTED:
            # Interrupted during the test (or just after it): the run ends interrupted, untested, as
            # its log said; resuming it runs the test.
            status, test = RunStatus.INTERRUPTED, None
        return self._finish(session, record, status, test, time.perf_counter() - began)

    def _train(self, session: Session) -> RunStatus:
        """Epoch after epoch, to the last or an early stop (finished), a request or a diverged loss."""
        config, progress = session.config, session.progress
        # A resumed run that had already stopped early goes straight to its test.
        last_epoch = progress.epoch if session.finished_training else config.epochs
        for epoch in range(progress.epoch + 1, last_epoch + 1):
            self._epoch = epoch
            result = session.train_epoch(epoch, self._at_batch_boundary, partial(self._report_batch, session, epoch))
            if result.diverged:
                self._emit(Diverged(epoch, self._batch, result.loss))
                return RunStatus.DIVERGED
            if result.stopped:
                return self._control.stop_reason or RunStatus.STOPPED
            try:
                val, val_seconds = session.validate(keep_going=self._keep_validating)
            except Abandoned:  # a second interrupt: this epoch is given up, the record keeps the last
                return RunStatus.INTERRUPTED
            row, best = session.epoch_done(epoch, result, val, val_seconds)
            self._recorder.epoch(session, best)
            self._emit(reports.epoch_ended(session, row))
            self._emit(evaluated_event("validation", epoch, val))
            if session.parts.early_stopping.triggered and epoch < config.epochs:
                self._emit(EarlyStopped(epoch, session.parts.best.epoch, config.patience, config.select))
                break
            if self._control.stop_reason and epoch < config.epochs:
                return self._control.stop_reason
        return RunStatus.FINISHED

    def _test(self, session: Session, record: RunRecord, status: RunStatus) -> TestResult | None:
        """None where the run is not to be tested, or its test was abandoned (an interrupt)."""
        best_epoch = session.parts.best.epoch
        if not status.tested or not best_epoch:
            return None
        self._emit(TestStarted(best_epoch, len(session.splits.test)))
        try:
            return session.test(record.best_path, keep_going=self._keep_testing)
        except Abandoned:
            return None

    def _finish(self, session: Session, record: RunRecord, status: RunStatus, test: TestResult | None,
                seconds: float) -> Outcome:
        summary = self._recorder.end(session, status, test, seconds)
        if test:
            self._emit(evaluated_event("test", session.parts.best.epoch, test.evaluation, test.report))
        self._emit(reports.run_finished(session, status, record.path, summary))
        return Outcome(status, record.path, summary.test_accuracy)

    def _ended_before_start(self, session: Session) -> Outcome:
        """Stopped while the data loaded: nothing was trained, so nothing is recorded (a resumed run's
        record is left exactly as it was)."""
        status = self._control.stop_reason or RunStatus.INTERRUPTED
        run_dir = self.resume_record.path if self.resume_record is not None else None
        self._control.seal()
        self._emit(reports.run_finished(session, status, run_dir, None))
        return Outcome(status, run_dir, None)

    # --- helpers on the worker thread ------------------------------------------------------------

    def _load_data(self) -> FashionMNIST:
        data = self._data if self._data is not None else load_fashion_mnist(self.data_dir)
        self._data_source = data.source
        return data

    def _emit(self, event: Event) -> None:
        for attachment in self._attachments:
            attachment.publish(event)
        self.bus.publish(event)

    def _keep_validating(self) -> bool:
        self._control.check()
        return not self._control.hurry  # a first interrupt lets the epoch's validation finish and be saved

    def _keep_testing(self) -> bool:
        self._control.check()
        return self._control.stop_reason != RunStatus.INTERRUPTED

    def _at_batch_boundary(self, batch: int) -> tuple[bool, float]:
        self._batch = batch
        self._control.check()
        if self._control.paused:
            began = time.perf_counter()
            stopped = self._hold(batch)
            return stopped, time.perf_counter() - began
        return self._control.stop_reason is not None, 0.0

    def _hold(self, batch: int) -> bool:
        """Paused at ``batch`` until resumed or stopped; True when stopped."""
        self._emit(Paused(self._epoch, batch))
        self._control.wait_until_unpaused()
        self._control.check()
        if self._control.stop_reason:
            return True
        self._emit(Resumed(self._epoch, batch))
        return False

    def _report_batch(self, session: Session, epoch: int, *progress: Any) -> None:
        self._emit(reports.batch_ended(session, epoch, *progress))
