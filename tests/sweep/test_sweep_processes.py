"""Sweeps across processes: two workers sharing one study, and Ctrl-C followed by the same command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from fmtui.core.records.run_dir import RunRecord

ROOT = Path(__file__).resolve().parents[2]

TINY = """description = "tiny linear run for sweep process tests"
model = "linear"
epochs = 3
batch_size = 10
lr = 0.01
schedule = "constant"
val_size = 50
device = "cpu"
"""


def sweep_args(preset: Path, data: Path, runs: Path, trials: int, *extra) -> list[str]:
    return ["sweep", str(preset), "--trials", str(trials), "--param", "lr=log:1e-3:1e-1", "--param",
            "dropout=0:0.5", "--data-dir", str(data), "--runs-dir", str(runs), *map(str, extra)]


def start(args: list[str], spawned: list) -> subprocess.Popen:
    # One thread each: two workers on a 2-core machine, as a person would run them.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "fmtui", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    spawned.append(process)
    return process


@pytest.mark.parametrize("storage", [None, "study.journal"], ids=["sqlite-default", "journal-file"])
def test_two_workers_finish_n_trials_together_with_none_run_twice(tiny_data, tmp_path, storage, spawned):
    """Two processes running the same command share the study: N trials between them, each run exactly once."""
    preset = tmp_path / "tiny.toml"
    # Trials of about a second, so both workers are up before the eight are done.
    preset.write_text(TINY.replace("epochs = 3", "epochs = 6").replace("batch_size = 10", "batch_size = 5"))
    runs = tmp_path / "runs"
    extra = ["--storage", str(tmp_path / storage)] if storage else []
    workers = [start(sweep_args(preset, tiny_data, runs, 8, "--json", *extra), spawned) for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    ended = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    trials = [e["trial"] for e in ended if e["event"] == "trial_ended"]
    assert sorted(trials) == list(range(8)), "every trial ended once, in one worker or the other"
    assert all(out.count('"trial_ended"') >= 1 for out, _ in outputs), "both workers ran trials"
    run_dirs = sorted(p for p in runs.iterdir() if p.is_dir())
    assert len(run_dirs) == 8
    assert sorted(RunRecord(p).read_config().trial for p in run_dirs) == list(range(8)), "one run per trial"
    for out, _ in outputs:
        assert json.loads(out.splitlines()[-1])["event"] == "sweep_finished"
    url = (optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / storage)))
           if storage else f"sqlite:///{runs / 'sweeps.db'}")
    study = optuna.load_study(study_name="tiny-sweep", storage=url)
    # Workers finishing at the same moment may each ask for one trial too many: the later-numbered ends
    # at once, untrained, marked surplus (failed, so it never counts).
    trials = [t for t in study.trials if not t.user_attrs.get("surplus")]
    surplus = [t for t in study.trials if t.user_attrs.get("surplus")]
    assert len(trials) == 8 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert all(t.state.name == "FAIL" and not t.params for t in surplus) and len(surplus) <= 1
    assert len({(t.params["lr"], t.params["dropout"]) for t in trials}) == 8, "no settings drawn twice"


def test_ctrl_c_leaves_the_study_consistent_and_the_same_command_finishes_it(tiny_data, tmp_path, spawned):
    """Ctrl-C mid-trial marks that trial failed and its run interrupted (exit 130); rerunning completes N trials."""
    preset = tmp_path / "tiny.toml"
    # Trials of a few seconds each (tiny batches, many epochs), so the signal lands mid-trial.
    preset.write_text(TINY.replace("epochs = 3", "epochs = 25").replace("batch_size = 10", "batch_size = 2"))
    runs = tmp_path / "runs"
    args = sweep_args(preset, tiny_data, runs, 2)
    worker = start(args, spawned)
    seen: list[str] = []
    for line in worker.stderr:  # wait until the second trial has trained two epochs
        seen.append(line)
        second = [s for s in seen[next((i for i, s in enumerate(seen) if s.startswith("trial 1 of")), len(seen)):]]
        if sum(s.startswith("epoch ") for s in second) == 2:
            break
    worker.send_signal(signal.SIGINT)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, "".join(seen) + err
    assert "Traceback" not in err and "interrupted" in out
    study = optuna.load_study(study_name="tiny-sweep", storage=f"sqlite:///{runs / 'sweeps.db'}")
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.RUNNING not in states and states.count(optuna.trial.TrialState.FAIL) == 1
    failed = next(t for t in study.trials if t.state == optuna.trial.TrialState.FAIL)
    assert RunRecord(Path(failed.user_attrs["run_dir"])).read_summary().status == "interrupted"

    again = start([*args, "--json"], spawned)
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err
    final = json.loads(out.splitlines()[-1])
    assert final["status"] == "finished" and final["done"] == 2
    study = optuna.load_study(study_name="tiny-sweep", storage=f"sqlite:///{runs / 'sweeps.db'}")
    done = [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(done) == 2 and len(study.trials) == 3
