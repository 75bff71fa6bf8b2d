"""A sweep run through fmtui.core.sweep.session, with no face: its outcome, its best preset, and --watch."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from fmtui.core.config.presets import load_preset
from fmtui.core.config.settings import TrainConfig
from fmtui.core.errors import ConfigError
from fmtui.core.sweep.runner import SweepInterrupted, TrialFailed
from fmtui.core.sweep.session import SweepSession, SweepStatus, WatchedStudy, make_plan

BASE = replace(TrainConfig(), preset="tiny", model="linear", epochs=1, batch_size=32, lr=0.01, schedule="constant",
               val_size=50, device="cpu")


def session(tiny_data: Path, runs: Path, trials: int, timeout: float | None = None) -> SweepSession:
    plan = make_plan("tiny-sweep", BASE, ["lr=log:1e-3:1e-1"], trials, device="cpu", pruner="none",
                     timeout=timeout)
    return SweepSession(plan, None, data_dir=tiny_data, runs_dir=runs)


def test_a_session_runs_its_trials_and_ends_finished_with_the_best_as_a_preset(tiny_data, runs_dir):
    """run() trains every trial; finish() says finished and names a preset holding the best trial's lr."""
    ended = []
    work = session(tiny_data, runs_dir, trials=2)
    work.sweep.on_trial_end = ended.append
    work.run()
    outcome = work.finish(None)
    assert outcome.status is SweepStatus.FINISHED and outcome.snapshot.done == 2
    assert [row.number for row in ended] == [0, 1]
    assert outcome.best_preset == runs_dir / "tiny-sweep-best.toml"
    assert load_preset(str(outcome.best_preset)).lr == outcome.snapshot.best.params["lr"]
    assert outcome.storage == str(runs_dir / "sweeps.db") and outcome.seconds > 0


def test_an_interrupted_session_is_interrupted_and_a_timeout_leaves_it_incomplete(tiny_data, runs_dir):
    """An interrupt before a trial raises SweepInterrupted (interrupted); a worker out of time is incomplete."""
    work = session(tiny_data, runs_dir, trials=3)
    work.sweep.interrupt()
    with pytest.raises(SweepInterrupted) as raised:
        work.run()
    assert work.finish(raised.value).status is SweepStatus.INTERRUPTED
    assert work.finish(None, signalled=True).status is SweepStatus.INTERRUPTED
    late = session(tiny_data, runs_dir, trials=3, timeout=1e-3)  # Optuna checks the timeout after each trial
    late.run()
    outcome = late.finish(None)
    assert outcome.status is SweepStatus.INCOMPLETE and outcome.snapshot.done == 1


def test_after_a_bug_in_a_trial_no_best_preset_is_written(tiny_data, runs_dir):
    """A trial that failed by a bug vouches for nothing: no preset; a trial's bad input still writes one."""
    session(tiny_data, runs_dir, trials=1).run()
    (runs_dir / "tiny-sweep-best.toml").unlink()
    buggy = session(tiny_data, runs_dir, trials=2).finish(TrialFailed("boom", user_error=False))
    assert buggy.status is SweepStatus.FAILED and buggy.best_preset is None
    assert not (runs_dir / "tiny-sweep-best.toml").exists()
    bad_input = session(tiny_data, runs_dir, trials=2).finish(TrialFailed("no such file", user_error=True))
    assert bad_input.status is SweepStatus.FAILED and bad_input.best_preset.is_file()


def test_a_plan_names_an_unknown_pruner_and_a_bad_range():
    """make_plan refuses --pruner and --param values it does not know, naming the flag."""
    with pytest.raises(ConfigError, match="--pruner 'fast'"):
        make_plan("s", BASE, [], 2, device=None, pruner="fast", timeout=None)
    with pytest.raises(ConfigError, match="--param"):
        make_plan("s", BASE, ["lr=log:0:1"], 2, device=None, pruner="median", timeout=None)


def test_a_watched_study_reports_each_ended_trial_once_and_ends_with_the_study(tiny_data, runs_dir):
    """--watch's loop: every ended trial reported once, in order; it returns once the study has its trials."""
    with pytest.raises(ConfigError, match="no sweep storage"):
        WatchedStudy("tiny-sweep", None, runs_dir)
    session(tiny_data, runs_dir, trials=2).run()
    reported = []
    snap = WatchedStudy("tiny-sweep", None, runs_dir).follow(reported.append, every=0.01)
    assert [row.number for row in reported] == [0, 1] and snap.done == 2


def test_a_watched_study_stops_when_told(tiny_data, runs_dir):
    """follow() on a study short of its trials returns once its stop event is set, not only on Ctrl-C."""
    session(tiny_data, runs_dir, trials=1).run()
    watched = WatchedStudy("tiny-sweep", None, runs_dir)
    watched.study.set_user_attr("fmtui_trials", 5)  # as a later command asking for more would leave it
    stop, reported = threading.Event(), []
    threading.Timer(0.3, stop.set).start()
    snap = watched.follow(reported.append, every=0.05, stop=stop)
    assert len(reported) == 1 and snap.done == 1 and snap.target == 5
