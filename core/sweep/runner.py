"""Running a sweep's trials: many runs of one preset with settings drawn by Optuna, hopeless ones pruned.

Optuna's own loop drives it: ``study.optimize`` asks for a trial, the trial's settings come from
``trial.suggest_*`` (fmtui.core.sweep.space), the run reports its validation accuracy each epoch with
``trial.report`` and stops when ``trial.should_prune()`` says so. Each trial is an ordinary fmtui run
(a Trainer, a record in the runs directory) whose config names its study and trial.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import EpochEnded, Event, RunStarted
from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.sweep.leaderboard import TrialRow, row_of
from fmtui.core.sweep.space import Plan, apply

DONE = (TrialState.COMPLETE, TrialState.PRUNED)
OTHERS_POLL_SECONDS = 1.0  # how often a worker with nothing left to start looks at the others' trials


class SweepInterrupted(Exception):
    """The current trial was interrupted (a signal, or the monitor closing): Optuna records it as failed."""


class SurplusTrial(Exception):
    """Workers that finish at the same moment can each start one trial too many; the later-numbered one
    ends at once, before it trains (failed in the study, marked ``surplus`` and left off the leaderboard)."""


class TrialFailed(Exception):
    """A trial's run failed; ``user_error`` as in RunFailed (exit code 2 rather than 1)."""

    def __init__(self, message: str, user_error: bool) -> None:
        super().__init__(message)
        self.user_error = user_error


# --- storage and study ----------------------------------------------------------------------------

class Sweep:
    """Runs trials of a study in this process until it has ``plan.trials`` finished ones, the timeout
    passes, or ``interrupt()`` is called (from any thread)."""

    def __init__(self, plan: Plan, study: optuna.Study, *, data: Any, data_dir: Path | None, runs_dir: Path,
                 on_trial: Callable[[int, TrainConfig, Any], None] | None = None,
                 on_trial_end: Callable[[TrialRow], None] | None = None) -> None:
        self.plan = plan
        self.study = study
        self.data = data
        self.data_dir = data_dir
        self.runs_dir = Path(runs_dir)
        self.on_trial = on_trial  # (trial number, config, trainer): subscribe a display before it starts
        self.on_trial_end = on_trial_end
        self.interrupted = False
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._host = _machine()

    def interrupt(self) -> None:
        """End the current trial as interrupted (failed in the study) and start no other."""
        with self._lock:
            self.interrupted = True
            trainer = self._trainer
        if trainer is not None:
            trainer.stop("interrupted")

    def hurry(self) -> None:
        """A second interrupt: the current trial gives up its epoch in progress as well."""
        with self._lock:
            self.interrupted = True
            trainer = self._trainer
        if trainer is not None:
            trainer.hurry()

    def remaining(self) -> int:
        """Trials still to start: finished and running ones (on any worker) count towards --trials."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)  # a dead worker's trial (heartbeat storages)
        self._fail_dead_local()
        started = self.study.get_trials(deepcopy=False, states=(*DONE, TrialState.RUNNING))
        return max(self.plan.trials - len(started), 0)

    def run(self) -> None:
        """Run trials until the study has enough; raises SweepInterrupted or TrialFailed.

        Another worker's trial counts while it runs; should that worker die, its trial is failed (at
        once on this machine, after the heartbeat's grace elsewhere) and this worker runs one more, so
        the study ends with exactly ``plan.trials`` done while any worker is left."""
        if self.interrupted:
            raise SweepInterrupted()
        deadline = None if self.plan.timeout is None else time.monotonic() + self.plan.timeout
        left = self.plan.timeout  # Optuna checks it after each trial: a first trial always runs
        while self.remaining() > 0 and (left is None or left > 0):
            self.study.optimize(self._objective, timeout=left, catch=(SurplusTrial,), callbacks=[self._after_trial])
            if self.interrupted:
                raise SweepInterrupted()
            self._wait_for_others(deadline)
            left = None if deadline is None else deadline - time.monotonic()

    def _wait_for_others(self, deadline: float | None) -> None:
        """While other workers' trials still run, wait: each ends done (nothing left to do) or with its
        worker dead (failed, so one more trial is needed)."""
        while (self.remaining() == 0 and self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
               and not self.interrupted and (deadline is None or time.monotonic() < deadline)):
            time.sleep(OTHERS_POLL_SECONDS)

    def _after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.interrupted or self.remaining() == 0:  # remaining() also fails dead workers' trials
            study.stop()
        if self.on_trial_end is not None and not trial.user_attrs.get("surplus"):
            self.on_trial_end(row_of(trial))

    def _objective(self, trial: optuna.Trial) -> float:
        if self.interrupted:
            raise SweepInterrupted()
        # The storage numbers trials in the order they were asked for, so every worker agrees on which
        # ones are beyond --trials: those with N finished or running trials before them.
        before = [t for t in self.study.get_trials(deepcopy=False, states=(*DONE, TrialState.RUNNING))
                  if t.number < trial.number]
        if len(before) >= self.plan.trials:
            trial.set_user_attr("surplus", True)
            self.study.stop()
            raise SurplusTrial()
        from fmtui.core.engine.trainer import Trainer  # late: torch loads with it

        values = {p.name: p.suggest(trial) for p in self.plan.params}
        config = replace(apply(self.plan.base, {**values, "device": self.plan.device}),
                         study=self.plan.study, trial=trial.number)
        trial.set_user_attr("host", self._host)
        trial.set_user_attr("pid", os.getpid())
        trainer = Trainer(config, data_dir=self.data_dir, runs_dir=self.runs_dir, data=self.data)
        events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        trainer.subscribe(lambda e: events.put(e) if isinstance(e, (RunStarted, EpochEnded)) else None)
        if self.on_trial is not None:
            self.on_trial(trial.number, config, trainer)
        with self._lock:
            if self.interrupted:
                raise SweepInterrupted()
            self._trainer = trainer
        trainer.start()
        best: list[float] = []
        try:
            outcome = None
            while outcome is None:  # in slices: the trial's reports go to the storage from this thread
                outcome = trainer.wait(timeout=0.2)
                self._report(trial, trainer, config, events, best)
        finally:
            with self._lock:
                self._trainer = None
        return self._result(trial, outcome)

    def _report(self, trial: optuna.Trial, trainer: Any, config: TrainConfig,
                events: queue.SimpleQueue[Event], best: list[float]) -> None:
        while not events.empty():
            event = events.get()
            if isinstance(event, RunStarted):
                trial.set_user_attr("run_dir", event.run_dir)
                continue
            if event.best_epoch == event.epoch:
                best[:] = [event.val_accuracy]
                trial.set_user_attr("best_val_accuracy", event.val_accuracy)
            trial.set_user_attr("epochs", event.epoch)
            trial.report(event.val_accuracy, event.epoch)
            # The last epoch is never pruned: the run is complete by then, and tested.
            if event.epoch < config.epochs and trainer.running and trial.should_prune():
                trainer.stop("pruned")

    def _result(self, trial: optuna.Trial, outcome: Any) -> float:
        summary: dict[str, Any] = {}
        if outcome.run_dir is not None:
            try:
                summary = RunRecord(outcome.run_dir).read_summary().to_json()
            except FmtuiError:
                pass
        trial.set_user_attr("status", outcome.status)
        trial.set_user_attr("seconds", summary.get("duration_seconds"))
        if summary.get("test_accuracy") is not None:
            trial.set_user_attr("test_accuracy", summary["test_accuracy"])
        if outcome.status == "interrupted":
            raise SweepInterrupted()
        if outcome.status == "failed":
            trial.set_user_attr("error", outcome.error or "")
            raise TrialFailed(outcome.error or "the run failed", outcome.user_error)
        value = summary.get("best_val_accuracy")
        if outcome.status in ("pruned", "diverged", "stopped") or value is None:
            # A diverged run (a NaN loss) is as hopeless as a pruned one: the sampler learns from both.
            raise optuna.TrialPruned(f"{outcome.status} after {summary.get('epochs', 0)} epochs")
        return float(value)

    def _fail_dead_local(self) -> None:
        """Mark failed the running trials of workers on this machine whose process is gone: at once,
        where Optuna's heartbeat would wait out its grace period, and journal files have none."""
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.user_attrs.get("host") != self._host or t.user_attrs.get("pid") in (None, os.getpid()):
                continue
            try:
                os.kill(int(t.user_attrs["pid"]), 0)
            except ProcessLookupError:
                self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            except (OSError, TypeError, ValueError):
                pass


def _machine() -> str:
    """This machine, as trials record it: the host name, and on Linux the boot id, since containers
    on different machines often share a host name."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()
