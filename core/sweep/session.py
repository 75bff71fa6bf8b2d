"""A sweep in this process from its plan to its outcome, whichever face shows it: the plan checked, the
study opened, this worker's trials run, the best settings written as a preset, and the final status.

`fmtui sweep` without the monitor and the monitor's sweep (fmtui.tui.monitor.sweep) both run their
trials through a SweepSession; they differ only in how the trials are shown and where signals go. A
WatchedStudy follows a study that workers elsewhere fill (``--watch``) and runs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.errors import ConfigError
from fmtui.core.sweep.leaderboard import Snapshot, TrialRow, snapshot, write_best_preset
from fmtui.core.sweep.runner import Sweep, SweepInterrupted, TrialFailed
from fmtui.core.sweep.space import Plan, parse_params
from fmtui.core.sweep.storage import (
    DEFAULT_STORAGE_FILE,
    PRUNERS,
    load_existing,
    open_storage,
    open_study,
    storage_label,
)

ENDED = ("complete", "pruned", "failed")  # a trial in one of these states has nothing more to report


class SweepStatus(StrEnum):
    """How one worker's sweep ended, as its closing summary says."""

    FINISHED = "finished"  # the study has its --trials finished trials
    INCOMPLETE = "incomplete"  # this worker stopped first (its --timeout passed, say); the same command goes on
    INTERRUPTED = "interrupted"  # a signal or the monitor closing; the study records that trial as failed
    FAILED = "failed"  # a trial failed, or the sweep itself did


@dataclass(frozen=True)
class SweepOutcome:
    snapshot: Snapshot  # the study as it is once this worker's part has ended
    status: SweepStatus
    best_preset: Path | None  # the best settings as a preset file, or None when no trial has completed
    seconds: float  # from the study being opened to the outcome
    storage: str  # where the study lives, as messages show it


def make_plan(study: str, base: TrainConfig, params: list[str], trials: int, *, device: str | None,
              pruner: str, timeout: float | None) -> Plan:
    """The plan of one `fmtui sweep`: its --param ranges checked against the base settings, its --pruner known."""
    if pruner not in PRUNERS:
        raise ConfigError(f"--pruner {pruner!r}: choose one of {', '.join(PRUNERS)}.")
    return Plan(study, base, parse_params(params, base), trials, device, pruner, timeout)


class SweepSession:
    """One worker of a sweep, in this process.

    Making one finds whatever is wrong with the input (the device, the data, the storage, a study that
    searches something else) before any trial starts. ``run()`` runs the trials on the calling thread
    (``sweep.interrupt()`` and ``sweep.hurry()`` end them from any other); ``finish()`` says what became
    of the sweep, however ``run()`` ended.
    """

    def __init__(self, plan: Plan, storage: str | None, *, data_dir: Path | None, runs_dir: Path,
                 on_trial_end: Callable[[TrialRow], None] | None = None) -> None:
        # Late: torch loads with them, and a session is only made once the arguments are known to be good.
        from fmtui.core.data.fashion_mnist import default_data_dir, load_fashion_mnist
        from fmtui.core.engine.loop import resolve_device

        resolve_device(with_overrides(plan.base, {"device": plan.device}).device)
        data = load_fashion_mnist(data_dir if data_dir is not None else default_data_dir())
        self.plan = plan
        self.runs_dir = Path(runs_dir)
        self.where = storage_label(storage, runs_dir)
        self.study = open_study(plan, open_storage(storage, runs_dir), self.where)
        self.sweep = Sweep(plan, self.study, data=data, data_dir=data_dir, runs_dir=runs_dir,
                           on_trial_end=on_trial_end)
        self.best_preset: Path | None = None
        self._started = time.monotonic()

    def read(self) -> Snapshot:
        """The study as its leaderboard shows it (from the storage: it may take a while across a network)."""
        return snapshot(self.study)

    def run(self) -> None:
        """Run this worker's trials until the study has enough, then write the best settings so far.
        Raises SweepInterrupted or TrialFailed; ``finish()`` says what either means for the sweep."""
        self.sweep.run()
        self.write_best()

    def write_best(self) -> Path | None:
        """The best trial so far as a preset file (rewritten as better ones complete); None before any has."""
        best = self.read().best
        if best is not None:
            self.best_preset = write_best_preset(self.plan, best, self.runs_dir)
        return self.best_preset

    def finish(self, error: BaseException | None, *, signalled: bool = False) -> SweepOutcome:
        """What became of the sweep once this worker's part has ended: ``error`` is what ended ``run()``
        early (None when it returned), ``signalled`` whether a signal ended it."""
        if not (isinstance(error, TrialFailed) and not error.user_error):  # after a bug, nothing is vouched for
            self.write_best()  # as the study has it now: other workers may have completed better trials since
        snap = self.read()
        if isinstance(error, SweepInterrupted) or signalled:
            status = SweepStatus.INTERRUPTED
        elif error is not None:
            status = SweepStatus.FAILED
        else:
            status = SweepStatus.FINISHED if snap.done >= self.plan.trials else SweepStatus.INCOMPLETE
        return SweepOutcome(snap, status, self.best_preset, time.monotonic() - self._started, self.where)


class WatchedStudy:
    """A study that workers elsewhere fill, followed from here: it is only read, and never created."""

    def __init__(self, name: str, storage: str | None, runs_dir: Path) -> None:
        self.name = name
        self.where = storage_label(storage, runs_dir)
        if storage is None and not (Path(runs_dir) / DEFAULT_STORAGE_FILE).is_file():
            raise ConfigError(f"--study {name}: there is no sweep storage in {runs_dir} ({DEFAULT_STORAGE_FILE}); "
                              f"give the --storage or --runs-dir the workers use.")
        self.study = load_existing(name, open_storage(storage, runs_dir, existing=True), self.where)

    def read(self) -> Snapshot:
        return snapshot(self.study)

    def follow(self, report: Callable[[TrialRow], None], every: float,
               stop: threading.Event | None = None) -> Snapshot:
        """Report each trial once, when it has ended, reading the study every ``every`` seconds, until the
        study has its trials and none is running, or ``stop`` is set; the last snapshot read."""
        stop = stop if stop is not None else threading.Event()
        seen: set[int] = set()
        while True:
            snap = self.read()
            for row in sorted(snap.rows, key=lambda r: r.number):
                if row.state in ENDED and row.number not in seen:
                    seen.add(row.number)
                    report(row)
            if (snap.target and snap.done >= snap.target and not snap.counts.get("running")) or stop.wait(every):
                return snap
