"""Sweeps: many runs of one preset with settings drawn by Optuna, hopeless ones pruned, on one machine or many.

Optuna's own loop drives it: ``study.optimize`` asks for a trial, the trial's settings come from
``trial.suggest_*`` (core.search), the run reports its validation accuracy each epoch with
``trial.report`` and stops when ``trial.should_prune()`` says so. Each trial is an ordinary fmtui run
(a Trainer, a record in the runs directory) whose config names its study and trial.

The storage decides one machine or many. Without ``--storage`` the study lives in an SQLite file in
the runs directory; with a PostgreSQL or MySQL URL, or a journal file on a shared filesystem, every
worker that runs the same command shares the study, and Optuna's storage hands each a distinct trial.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from core.config import TrainConfig
from core.errors import ConfigError, FmtuiError
from core.events import EpochEnded, Event, RunStarted
from core.leaderboard import TARGET_ATTR, TrialRow, row_of
from core.records import RunRecord
from core.search import Param, apply, config_diff

DEFAULT_STORAGE_FILE = "sweeps.db"  # in the runs directory
SQLITE_TIMEOUT_SECONDS = 60  # how long a worker waits for another's write before "database is locked"
# Optuna's heartbeat marks a trial whose worker died (SIGKILL, a lost machine) as failed, so it stops
# counting towards --trials and the same command can replace it. Journal files have no heartbeat, and
# the heartbeat waits out a grace period: on the same machine a dead worker's trial is also recognised
# at once by its host and process id (see _fail_dead_local).
HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 120
SPACE_ATTR = "fmtui_space"  # the study attribute recording what it searches (describe_space)

# Median, the default: with the few, short trials of a CPU sweep it compares each trial with the
# completed ones at the same epoch and needs no budget settings to fit the epoch count; the first three
# trials always run to the end so the median means something. Successive halving (asynchronous, keeps
# the best quarter at each rung) suits many long trials, and cuts slow starters (a low learning rate)
# too soon in a sweep of a few epochs.
PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(),
    "none": lambda: optuna.pruners.NopPruner(),
}
DONE = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Plan:
    """What one `fmtui sweep` command asks for; every worker of a study should give the same."""

    study: str
    base: TrainConfig  # the preset with --set applied; --device is the worker's own (``device``)
    params: tuple[Param, ...]
    trials: int  # trials to finish (complete or pruned) across all workers
    device: str | None = None
    pruner: str = "median"
    timeout: float | None = None  # seconds after which this worker starts no new trial


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

def storage_label(storage: str | None, runs_dir: Path) -> str:
    """The storage as messages show it (a database password hidden)."""
    if storage is None:
        return str(Path(runs_dir) / DEFAULT_STORAGE_FILE)
    if "://" in storage:
        try:
            from sqlalchemy.engine import make_url

            return make_url(storage).render_as_string(hide_password=True)
        except Exception:  # an unparseable URL: shown as given, it is reported as unreachable anyway
            return storage
    return storage


def open_storage(storage: str | None, runs_dir: Path) -> optuna.storages.BaseStorage:
    """The Optuna storage for ``--storage`` (None: SQLite in the runs directory); ConfigError naming the
    flag when it cannot be opened. A URL is a database; a path is a journal file (one ending in .db,
    .sqlite or .sqlite3 an SQLite file)."""
    label = f"--storage {storage_label(storage, runs_dir)}"
    if storage is None:
        try:
            Path(runs_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the runs directory {runs_dir} for the sweep's study: "
                              f"{exc.strerror or exc}. Choose one with --runs-dir, or a --storage.") from None
        url = f"sqlite:///{(Path(runs_dir) / DEFAULT_STORAGE_FILE).resolve()}"
    elif "://" in storage:
        url = _with_driver(storage)
    elif storage.removeprefix("journal:") == storage and Path(storage).suffix in (".db", ".sqlite", ".sqlite3"):
        url = f"sqlite:///{Path(storage).resolve()}"
    else:
        path = Path(storage.removeprefix("journal:"))
        try:
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise ConfigError(f"{label}: the journal file cannot be opened: {exc.strerror or exc}.") from None
    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_SECONDS}} if url.startswith("sqlite") \
        else {"pool_pre_ping": True}
    last: Exception | None = None
    for _ in range(5):  # two workers starting at once on a new database race to create its tables
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # the heartbeat
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
        except ImportError as exc:
            raise ConfigError(f"{label}: the database driver is not installed ({exc}); install it, for "
                              f"PostgreSQL with `pip install 'fmtui[postgres]'` (psycopg), for MySQL "
                              f"`pip install pymysql` and a mysql+pymysql:// URL.") from None
        except Exception as exc:  # SQLAlchemy raises many kinds for a bad URL or an unreachable server
            last = exc
            # (a table already there, a duplicate version row, a lock): a moment later the other has.
            # A server says so as a duplicate key (PostgreSQL) or entry (MySQL); anything else is real.
            raced = any(sign in str(exc) for sign in ("duplicate key", "Duplicate entry", "already exists"))
            if not (raced or url.startswith("sqlite")) or "unable to open" in str(exc):
                break
            threading.Event().wait(0.5)
    message = str(last).strip().splitlines()[0] if last is not None and str(last).strip() else type(last).__name__
    raise ConfigError(f"{label}: the storage cannot be reached or opened ({message}). Check the URL, the "
                      f"server and the credentials.")


def _with_driver(url: str) -> str:
    """A PostgreSQL URL names no driver, and SQLAlchemy then wants psycopg2; use psycopg 3 when only it is here."""
    import importlib.util

    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql") and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg{sep}{rest}"
    return url


def open_study(plan: Plan, storage: optuna.storages.BaseStorage, where: str) -> optuna.Study:
    """Create the plan's study, or load it; a study that searches something else is an error."""
    try:
        study = optuna.create_study(
            study_name=plan.study, storage=storage, direction="maximize", load_if_exists=True,
            # TPE's constant liar (on by default) treats running trials as bad so that workers sharing
            # the study do not all propose the same settings.
            sampler=optuna.samplers.TPESampler(constant_liar=True), pruner=PRUNERS[plan.pruner]())
    except ValueError as exc:  # a study of the same name with another direction
        raise ConfigError(f"--study {plan.study}: exists in {where} but is not an fmtui sweep ({exc}); "
                          f"choose another --study.") from None
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"--study {plan.study}: exists in {where} and minimizes its objective, so it is not "
                          f"an fmtui sweep (they maximize validation accuracy); choose another --study.")
    space = describe_space(plan)
    recorded = study.user_attrs.get(SPACE_ATTR)
    if recorded is None:
        study.set_user_attr(SPACE_ATTR, space)
    else:
        _check_same(plan.study, where, recorded, space)
    study.set_user_attr(TARGET_ATTR, plan.trials)  # the latest command's --trials, for --watch
    return study


def describe_space(plan: Plan) -> dict[str, Any]:
    """What makes trials of one study comparable: the preset's settings and the searched ranges."""
    base = config_diff(plan.base, TrainConfig())
    return json.loads(json.dumps({"preset": plan.base.preset, "settings": base,
                                  "params": sorted(p.spec() for p in plan.params)}))


def _check_same(study: str, where: str, recorded: dict[str, Any], space: dict[str, Any]) -> None:
    if recorded.get("params") != space["params"]:
        given = " ".join(f"--param {p}" for p in space["params"])
        before = " ".join(f"--param {p}" for p in recorded.get("params", []))
        raise ConfigError(f"--param: study '{study}' in {where} was created with {before}, not {given}. "
                          f"Give the same --param flags to continue it, or name a new study with --study.")
    if recorded.get("settings") != space["settings"]:
        changed = sorted(k for k in set(recorded.get("settings", {})) | set(space["settings"])
                         if recorded.get("settings", {}).get(k) != space["settings"].get(k))
        raise ConfigError(f"--set/PRESET: study '{study}' in {where} was created from preset "
                          f"'{recorded.get('preset')}' with other settings ({', '.join(changed)} differ). "
                          f"Use the same preset and --set flags to continue it, or name a new study with --study.")


def load_existing(name: str, storage: optuna.storages.BaseStorage, where: str) -> optuna.Study:
    """A study that must already exist (for --watch)."""
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise ConfigError(f"--study {name}: no such study in {where}"
                          + (f" (it holds {', '.join(names)})." if names else " (it holds none yet).")) from None


# --- running trials -------------------------------------------------------------------------------

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
        """Run trials until the study has enough; raises SweepInterrupted or TrialFailed."""
        if self.interrupted:
            raise SweepInterrupted()
        if self.remaining() == 0:
            return
        self.study.optimize(self._objective, timeout=self.plan.timeout, catch=(SurplusTrial,),
                            callbacks=[optuna.study.MaxTrialsCallback(
                                self.plan.trials, states=(*DONE, TrialState.RUNNING)), self._after_trial])
        if self.interrupted:
            raise SweepInterrupted()

    def _after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.interrupted:
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
        from core.training import Trainer  # late: torch loads with it

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
                summary = RunRecord(outcome.run_dir).read_summary()
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
