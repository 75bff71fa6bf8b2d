"""Faults during a run: interrupts, resume, and processes killed mid-write."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fmtui.core.engine.events import BatchEnded, EpochEnded, RunStarted
from fmtui.core.engine.trainer import Trainer, resume_config
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.core.records.files import atomic_write_json
from fmtui.core.records.listing import effective_status
from fmtui.core.records.run_dir import RunRecord
from tests.support import run_trainer, tiny_preset

ROOT = Path(__file__).resolve().parents[2]

TINY_PRESET = tiny_preset("tiny linear run for fault tests")


def _comparable(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "images_per_second")} for row in history]


@pytest.mark.parametrize("optimizer, lr", [("adamw", 0.003), ("sgd", 0.05)])
def test_resume_gives_the_same_result_as_an_uninterrupted_run(tiny_config, tiny_data, tmp_path, optimizer, lr):
    """Interrupt mid-run, resume from the last complete epoch: same metrics and test accuracy as no interruption
    (each optimiser's own state, Adam's moments or SGD's momentum, is saved and restored with the weights)."""
    config = replace(tiny_config, model="tinyvgg", epochs=4, batch_size=10, lr=lr, optimizer=optimizer,
                     schedule="onecycle", flip=True, shift=2, rotate=8, dropout=0.2, ema=0.9, label_smoothing=0.1,
                     tta_flip=True, train_subset=200)
    straight, _ = run_trainer(config, tiny_data, tmp_path / "straight")

    trainer = Trainer(config, data_dir=tiny_data, runs_dir=tmp_path / "broken")
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, EpochEnded) and e.epoch == 1 else None)
    trainer.start()
    interrupted = trainer.wait(timeout=120)
    assert interrupted.status == "interrupted"
    record = RunRecord(interrupted.run_dir)
    summary = record.read_summary()
    assert summary.status == "interrupted" and 1 <= summary.epochs < 4, "stopped before the end"
    assert summary.test_accuracy is None and record.state_path.exists()

    resumed, events = run_trainer(resume_config(record), tiny_data, tmp_path / "unused", resume=record)
    started = [e for e in events if isinstance(e, RunStarted)][0]
    assert started.first_epoch == summary.epochs + 1 and started.run_dir == str(record.path)
    assert resumed.status == "finished" and resumed.run_dir == record.path
    assert _comparable(record.read_history()) == _comparable(RunRecord(straight.run_dir).read_history())
    assert resumed.test_accuracy == straight.test_accuracy
    assert not (tmp_path / "unused").exists(), "a resumed run stays in its own directory"
    # The ETA extrapolates the pace of the whole run, the epochs before the interruption included:
    # at the end of epoch e of 4, the time left is elapsed * (4 - e) / e.
    ends = [e for e in events if isinstance(e, BatchEnded) and e.batch == e.batches]
    assert [e.epoch for e in ends] == list(range(started.first_epoch, 5))
    for end in ends:
        assert end.eta_seconds == pytest.approx(end.elapsed_seconds * (4 - end.epoch) / end.epoch)


def test_finished_runs_cannot_be_resumed(tiny_config, tiny_data, runs_dir):
    """Resuming a finished run is refused with a message that says why."""
    outcome, _ = run_trainer(tiny_config, tiny_data, runs_dir)
    with pytest.raises(Exception, match="has status 'finished'; only interrupted, stopped or failed"):
        resume_config(RunRecord(outcome.run_dir))


def _start_cli(args: list[str], spawned: list) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "fmtui", *map(str, args)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spawned.append(process)
    return process


def _wait_for_epoch(process: subprocess.Popen) -> list[str]:
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("epoch "):
            return lines
    raise AssertionError("the run ended before its first epoch:\n" + "".join(lines))


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_stop_headless_training_and_leave_a_resumable_record(tiny_data, tmp_path, signum, code, spawned):
    """Ctrl-C, SIGTERM and SIGHUP stop at a batch boundary, save the state, mark the run interrupted and exit 128+N."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET)
    runs = tmp_path / "runs"
    process = _start_cli(["train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", runs,
                          "--epochs", 10_000], spawned)
    _wait_for_epoch(process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "Traceback" not in err and "interrupted" in err
    (run_dir,) = runs.iterdir()
    record = RunRecord(run_dir)
    summary = record.read_summary()
    assert summary.status == "interrupted" and summary.epochs >= 1
    assert record.state_path.exists() and record.best_path.exists()
    assert f"continue it with: fmtui train --resume {run_dir}" in err
    if signum == signal.SIGINT:  # and the run carries on where it stopped, in the same directory
        epochs = summary.epochs
        result = subprocess.run([sys.executable, "-m", "fmtui", "train", "--resume", run_dir, "--data-dir",
                                 tiny_data, "--epochs", "5"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 2 and "cannot be combined with --resume" in result.stderr
        resumed = _start_cli(["train", "--resume", run_dir, "--data-dir", tiny_data], spawned)
        lines = _wait_for_epoch(resumed)
        assert f"resuming at epoch {epochs + 1}" in "".join(lines)
        resumed.send_signal(signal.SIGINT)
        _, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 130, err
        assert [p.name for p in runs.iterdir()] == [run_dir.name], "no new run directory"
        again = record.read_summary()
        assert again.status == "interrupted" and again.epochs > epochs
        assert [row["epoch"] for row in record.read_history()] == list(range(1, again.epochs + 1))


# Made before forking: a forked child must not start torch's thread pool (OpenMP is not fork-safe),
# and torch.save of ready tensors does not.
_BIG = {f"w{i}": torch.full((256, 256), float(i)) for i in range(8)}  # a checkpoint that takes a while


def _write_versions_forever(run_dir: str) -> None:
    """Child process: rewrite every record file, alternating two complete versions, until killed."""
    record = RunRecord(Path(run_dir))
    version = 0
    while True:
        version = 1 - version
        atomic_write_json(record.summary_path, {"version": version, "padding": "x" * 50_000})
        record.write_history([{"epoch": e, "version": version, "train_loss": 0.1, "train_accuracy": 0.5,
                               "val_loss": 0.1, "val_accuracy": 0.5, "lr": 0.1, "seconds": 1.0,
                               "images_per_second": 1.0} for e in range(200)])
        record.write_confusion([[version] * 10] * 10, tuple("abcdefghij"))
        record.save_state({"format": "fmtui-training-state", "version": version, **_BIG})


def _check_consistent(record: RunRecord) -> set[int]:
    """Every file present parses completely and is one of the two versions; return the versions seen."""
    seen = set()
    if record.summary_path.exists():
        seen.add(json.loads(record.summary_path.read_text())["version"])
    if record.jsonl_path.exists():
        rows = [json.loads(line) for line in record.jsonl_path.read_text().splitlines()]
        assert len(rows) == 200 and len({r["version"] for r in rows}) == 1
        seen.add(rows[0]["version"])
    if record.csv_path.exists():
        assert len(record.csv_path.read_text().splitlines()) == 201
    if record.confusion_path.exists():
        assert len(record.confusion_path.read_text().splitlines()) == 11
    if record.state_path.exists():
        state = torch.load(record.state_path, weights_only=True)
        assert all(torch.equal(state[name], tensor) for name, tensor in _BIG.items())
        seen.add(state["version"])
    return seen


def test_sigkill_at_random_moments_never_leaves_a_corrupt_file(tmp_path):
    """A writer killed with SIGKILL at 25 random moments leaves every record file whole: old or new, never partial."""
    context = multiprocessing.get_context("fork")  # starts in milliseconds, so many kills fit in a test
    rng = random.Random(1234)
    record = RunRecord(tmp_path)
    versions = set()
    for _ in range(25):
        child = context.Process(target=_write_versions_forever, args=(str(tmp_path),))
        child.start()
        time.sleep(rng.uniform(0.01, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        versions |= _check_consistent(record)
    assert versions == {0, 1}, "the kills landed while both versions were being written"


def test_a_killed_training_run_is_readable_and_resumable(tiny_data, tmp_path, spawned):
    """A real run killed with SIGKILL mid-training leaves readable records, shows as killed, and resumes."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY_PRESET.replace('model = "linear"', 'model = "tinyvgg"'))
    runs = tmp_path / "runs"
    process = _start_cli(["train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", runs,
                          "--epochs", 10_000, "--set", "train_subset=100"], spawned)
    _wait_for_epoch(process)
    time.sleep(random.Random(7).uniform(0.0, 1.0))
    process.kill()
    process.communicate(timeout=30)
    (run_dir,) = runs.iterdir()
    record = RunRecord(run_dir)
    summary = record.read_summary()
    assert summary.status == "running" and effective_status(summary, run_dir) == "killed"
    # Every file is whole and they agree, give or take the epoch being written when the kill landed
    # (an epoch's files are renamed into place one after another, the summary last).
    history = record.read_history()
    state_epoch = record.load_state()["progress"]["epoch"]
    assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))
    assert summary.epochs <= state_epoch <= len(history) <= state_epoch + 1
    assert 1 <= load_checkpoint(run_dir).epoch <= len(history)
    config = resume_config(record)
    assert config.epochs == 10_000
