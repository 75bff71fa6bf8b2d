"""The trainer on tiny data: events, controls, early stopping, records."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
import torch
from torch import nn

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.bus import EventBus
from fmtui.core.engine.events import (
    BatchEnded,
    Diverged,
    EarlyStopped,
    EpochEnded,
    Evaluated,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
)
from fmtui.core.engine.events import TestStarted as _TestStarted  # keeps pytest from collecting it as a test class
from fmtui.core.engine.loop import make_optimizer, make_scheduler
from fmtui.core.engine.trainer import Trainer
from fmtui.core.models import SPECS, ModelSpec
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.core.records.run_dir import RunRecord
from tests.support import kinds, make_dataset, run_trainer


def test_events_arrive_in_order_with_their_content(tiny_config, tiny_data, runs_dir):
    """A run reports start, progress, each epoch and its evaluation, the test report, then the end."""
    outcome, events = run_trainer(tiny_config, tiny_data, runs_dir)
    assert outcome.status == "finished"
    names = kinds(events)
    assert names[0] == "run_started" and names[-1] == "run_finished"
    epoch_events = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epoch_events] == [1, 2, 3]
    # Each epoch: batch progress first, then the epoch, then its validation report.
    i = names.index("run_started")
    for epoch in (1, 2, 3):
        i = names.index("epoch_ended", i + 1)
        assert isinstance(events[i - 1], BatchEnded) and events[i - 1].epoch == epoch
        assert isinstance(events[i + 1], Evaluated) and events[i + 1].split == "validation"
    started = events[0]
    assert isinstance(started, RunStarted)
    assert (started.train_size, started.val_size, started.test_size) == (350, 50, 100)
    assert started.parameters == 7850 and started.device.startswith("cpu")
    assert started.config["model"] == "linear" and started.batches_per_epoch == 350 // 32
    testing, test_report = events[-3:-1]
    assert isinstance(testing, _TestStarted) and (testing.best_epoch, testing.images) == (test_report.epoch, 100)
    assert isinstance(test_report, Evaluated) and test_report.split == "test"
    assert sum(map(sum, test_report.confusion)) == 100 and len(test_report.precision) == 10
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.test_accuracy == test_report.accuracy == outcome.test_accuracy
    assert finished.test_accuracy > 0.9, "the bands are easy: a working linear model separates them"


def test_progress_is_throttled_and_covers_each_epoch(tiny_config, tiny_data, runs_dir):
    """Batch progress ends each epoch on its last batch and never reports more batches than exist."""
    _, events = run_trainer(replace(tiny_config, epochs=1), tiny_data, runs_dir)
    progress = [e for e in events if isinstance(e, BatchEnded)]
    assert progress[-1].batch == progress[-1].batches == 350 // 32
    assert all(p.loss > 0 and p.images_per_second > 0 for p in progress)


def test_record_round_trips_and_eval_matches_summary(tiny_config, tiny_data, runs_dir):
    """The record holds config, metrics, confusion matrix, summary and a checkpoint that reproduces the test score."""
    outcome, _ = run_trainer(tiny_config, tiny_data, runs_dir)
    record = RunRecord(outcome.run_dir)
    summary = record.read_summary()
    assert summary.status == "finished" and summary.preset == "tiny" and summary.epochs == 3
    assert summary.best_epoch in (1, 2, 3) and summary.test_accuracy == outcome.test_accuracy
    assert record.read_config() == tiny_config
    history = record.read_history()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert record.csv_path.read_text().splitlines()[0].startswith("epoch,train_loss,train_accuracy")
    confusion = record.confusion_path.read_text().splitlines()
    assert len(confusion) == 11 and confusion[1].startswith("T-shirt/top,")
    checkpoint = load_checkpoint(outcome.run_dir)
    assert checkpoint.config == tiny_config and checkpoint.epoch == summary.best_epoch
    assert not list(outcome.run_dir.glob(".*.tmp")), "no temporary files are left behind"


def test_pause_resume_and_stop_from_another_thread(tiny_config, tiny_data, runs_dir):
    """Pause holds training at a batch boundary; resume continues; stop still ends the run properly."""
    config = replace(tiny_config, epochs=200, batch_size=10)
    trainer = Trainer(config, data_dir=tiny_data, runs_dir=runs_dir)
    events = []
    paused, resumed, first_epoch = threading.Event(), threading.Event(), threading.Event()

    def watch(event):
        events.append(event)
        if isinstance(event, Paused):
            paused.set()
        if isinstance(event, Resumed):
            resumed.set()
        if isinstance(event, EpochEnded):
            first_epoch.set()

    trainer.subscribe(watch)
    trainer.start()
    assert first_epoch.wait(60)
    trainer.pause()
    assert paused.wait(30)
    assert trainer.paused
    count = len(events)
    assert trainer.wait(timeout=0.5) is None, "a paused run does not end by itself"
    assert not any(isinstance(e, BatchEnded) for e in events[count:]), "no batches run while paused"
    trainer.resume()
    assert resumed.wait(30), "resume continues training"
    trainer.stop()
    outcome = trainer.wait(timeout=60)
    assert outcome.status == "stopped"
    names = kinds(events)
    assert names.index("paused") < names.index("resumed") < names.index("stop_requested")
    assert isinstance(events[-1], RunFinished) and events[-1].status == "stopped"
    assert events[-1].epochs_completed < 200
    assert events[-1].test_accuracy is not None, "a stopped run is still evaluated on the test split"
    summary = RunRecord(outcome.run_dir).read_summary()
    assert summary.status == "stopped" and summary.test_accuracy == events[-1].test_accuracy


def test_stop_while_paused_ends_the_run(tiny_config, tiny_data, runs_dir):
    """A paused run can be stopped without resuming it first."""
    trainer = Trainer(replace(tiny_config, epochs=200, batch_size=10), data_dir=tiny_data, runs_dir=runs_dir)
    paused = threading.Event()
    trainer.subscribe(lambda e: paused.set() if isinstance(e, Paused) else None)
    trainer.pause()  # requested before the first batch: takes effect at the first boundary
    trainer.start()
    assert paused.wait(60)
    trainer.stop()
    outcome = trainer.wait(timeout=60)
    assert outcome.status == "stopped"


def test_a_pause_granted_during_the_last_validation_holds_the_run_before_its_test(tiny_config, tiny_data,
                                                                                 runs_dir):
    """A pause asked for while the last epoch is validated is granted and kept: the run waits before its
    test until resumed, then tests as usual (it used to answer yes and drop the pause)."""
    trainer = Trainer(replace(tiny_config, epochs=1), data_dir=tiny_data, runs_dir=runs_dir)
    validating, asked, paused = threading.Event(), threading.Event(), threading.Event()
    keep_validating = trainer._keep_validating

    def held_in_the_validation() -> bool:  # the pause is asked for while the last validation runs
        validating.set()
        asked.wait(60)
        return keep_validating()

    trainer._keep_validating = held_in_the_validation
    events = []
    trainer.subscribe(lambda e: (events.append(e), paused.set() if isinstance(e, Paused) else None))
    trainer.start()
    try:
        assert validating.wait(60)
        assert trainer.pause() is True, "the pause is granted"
        asked.set()
        assert paused.wait(30), "and honoured: the run pauses before its test"
        assert trainer.wait(timeout=0.5) is None and trainer.paused, "a paused run does not test by itself"
        assert "test_started" not in kinds(events)
        assert trainer.resume() is True
    finally:
        asked.set()
        trainer.resume()
        outcome = trainer.wait(timeout=60)
    names = kinds(events)
    assert names.index("epoch_ended") < names.index("paused") < names.index("resumed") < names.index("test_started")
    assert outcome.status == "finished" and outcome.test_accuracy is not None
    assert trainer.pause() is False, "nothing is left to pause at once the run is over"


def test_early_stopping_on_validation_loss(tiny_config, tmp_path, runs_dir):
    """With labels that images cannot predict, validation loss only worsens and the run stops early."""
    data = make_dataset(tmp_path / "noise", random_labels=True)
    config = replace(tiny_config, epochs=40, patience=2, lr=0.05)
    outcome, events = run_trainer(config, data, runs_dir)
    stopped = [e for e in events if isinstance(e, EarlyStopped)]
    assert len(stopped) == 1
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert stopped[0].epoch == epochs[-1].epoch < 40
    assert stopped[0].epoch - stopped[0].best_epoch == 2
    assert outcome.status == "finished"
    summary = RunRecord(outcome.run_dir).read_summary()
    assert summary.best_epoch == stopped[0].best_epoch and summary.epochs == stopped[0].epoch


class _Exploding(torch.nn.Module):
    """A linear model whose outputs turn to NaN from its 15th training batch on (epoch 2 of the tiny data)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(784, 10)
        self.calls = 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = self.fc(x.flatten(1))
        return out * float("nan") if self.calls >= 15 else out


def test_divergence_ends_the_run_and_keeps_the_best_checkpoint(tiny_config, tiny_data, runs_dir, monkeypatch):
    """A NaN loss stops the run with status 'diverged'; the best checkpoint so far is kept and evaluated."""
    monkeypatch.setitem(SPECS, "exploding", ModelSpec(lambda config: _Exploding(), lambda config: "nan",
                                                      channels_last=False))
    outcome, events = run_trainer(replace(tiny_config, model="exploding", epochs=6), tiny_data, runs_dir)
    assert outcome.status == "diverged"
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert len(diverged) == 1 and diverged[0].epoch == 2
    summary = RunRecord(outcome.run_dir).read_summary()
    assert summary.status == "diverged" and summary.best_epoch == 1 and summary.epochs == 1
    assert load_checkpoint(outcome.run_dir).epoch == 1
    assert summary.test_accuracy is not None and summary.test_accuracy > 0.5


def test_a_slow_subscriber_never_blocks_training(tiny_config, tiny_data, runs_dir):
    """Training runs to the end while a subscriber is stuck; every event still arrives, in order, afterwards."""
    trainer = Trainer(tiny_config, data_dir=tiny_data, runs_dir=runs_dir)
    release = threading.Event()
    received = []

    def stuck(event):
        release.wait()
        received.append(event)

    trainer.subscribe(stuck)
    trainer.start()
    trainer._thread.join(60)
    assert not trainer._thread.is_alive(), "the trainer finished although its subscriber never returned"
    assert received == []
    release.set()
    outcome = trainer.wait(timeout=30)
    assert outcome.status == "finished"
    assert isinstance(received[0], RunStarted) and isinstance(received[-1], RunFinished)


def test_bus_coalesces_progress_but_keeps_every_other_event():
    """Undelivered progress is replaced by newer progress; epoch events are never dropped."""
    bus = EventBus()
    gate, got = threading.Event(), []
    bus.subscribe(lambda e: (gate.wait(), got.append(e)))
    first = StopRequested("stopped")
    bus.publish(first)
    for i in range(1000):
        bus.publish(BatchEnded(1, 1, i, 1000, 0.5, 1.0, 1.0, None))
    bus.publish(Resumed(1, 5))
    gate.set()
    bus.close()
    assert got[0] is first and isinstance(got[-1], Resumed)
    progress = [e for e in got if isinstance(e, BatchEnded)]
    assert len(progress) <= 2 and progress[-1].batch == 999


def test_failure_before_start_is_reported_as_an_event(tiny_config, tmp_path, runs_dir):
    """Missing data ends the run with a RunFailed event that explains it, and writes no run directory."""
    outcome, events = run_trainer(tiny_config, tmp_path / "nowhere", runs_dir)
    assert outcome.status == "failed" and outcome.user_error
    assert isinstance(events[-1], RunFailed) and "train-images-idx3-ubyte" in events[-1].error
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_same_seed_same_run(tiny_config, tiny_data, tmp_path):
    """Two runs with the same seed produce identical metrics."""
    config = replace(tiny_config, model="tinyvgg", epochs=2, flip=True, shift=2, rotate=10, dropout=0.2,
                     train_subset=120)
    first, _ = run_trainer(config, tiny_data, tmp_path / "a")
    second, _ = run_trainer(config, tiny_data, tmp_path / "b")
    def strip(rows):
        return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_second")} for r in rows]

    assert strip(RunRecord(first.run_dir).read_history()) == strip(RunRecord(second.run_dir).read_history())
    assert first.test_accuracy == second.test_accuracy


def test_events_serialise_to_json_with_an_event_field(tiny_config, tiny_data, runs_dir):
    """Every event becomes one JSON object naming its kind; non-finite numbers become null."""
    _, events = run_trainer(replace(tiny_config, epochs=1), tiny_data, runs_dir)
    for event in events:
        data = json.loads(json.dumps(event.to_dict()))
        assert data["event"] == event.kind()
    assert BatchEnded(1, 1, 1, 1, float("nan"), 1.0, 1.0, None).to_dict()["loss"] is None


def test_each_epoch_records_the_learning_rate_its_last_step_used(tiny_config, tiny_data, runs_dir):
    """The history's lr is what the epoch's last step trained with, so a schedule that ends at zero shows a
    small positive lr at the last epoch, not the value one step past its end (below zero for linear)."""
    config = replace(tiny_config, schedule="linear", epochs=3, warmup=0.25)
    outcome, _ = run_trainer(config, tiny_data, runs_dir)
    lrs = [row["lr"] for row in RunRecord(outcome.run_dir).read_history()]
    assert lrs[0] > lrs[1] > lrs[2] > 0, lrs
    assert lrs[2] < 1e-6


def test_the_linear_schedule_warms_up_then_falls_in_equal_steps_to_zero():
    """schedule = "linear": the peak lr where the warm-up ends, then straight down to about zero at the last batch."""
    config = TrainConfig(schedule="linear", lr=0.01, epochs=4, warmup=0.25)
    optimizer = make_optimizer(nn.Linear(2, 2), config)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=10)
    lrs = []
    for _ in range(40):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    peak = lrs.index(max(lrs))
    assert max(lrs) == pytest.approx(0.01) and peak == 9
    falls = [a - b for a, b in zip(lrs[peak:], lrs[peak + 1:])]
    assert min(falls) > 0 and max(falls) == pytest.approx(min(falls))
    assert lrs[-1] < 1e-6
