"""Training on the real FashionMNIST (../shared/data): accuracy floors a broken model cannot reach."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fmtui.core.config.presets import load_preset
from fmtui.core.engine.events import RunStarted
from fmtui.core.records.run_dir import RunRecord
from tests.conftest import REAL_DATA, needs_real_data
from tests.support import run_trainer

pytestmark = [pytest.mark.integration, needs_real_data]


def test_linear_one_epoch_on_the_full_training_set(tmp_path):
    """One epoch of softmax regression on 55,000 images already clears 80% on the test split."""
    config = replace(load_preset("linear"), epochs=1, device="cpu")
    outcome, events = run_trainer(config, REAL_DATA, tmp_path)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert (started.train_size, started.val_size, started.test_size) == (55_000, 5_000, 10_000)
    assert outcome.status == "finished"
    assert outcome.test_accuracy >= 0.80, f"test accuracy {outcome.test_accuracy:.2%}"


def test_tinyvgg_beats_the_linear_model_on_the_same_subset(tmp_path):
    """The article's point at small scale: three epochs on the same 6,000 images, and the CNN scores well
    above the linear model on the full test split (measured: 83.1% against 78.2%)."""
    def briefly(name: str):
        config = replace(load_preset(name), epochs=3, train_subset=6000, val_size=1000, device="cpu")
        return run_trainer(config, REAL_DATA, tmp_path / name)[0]

    linear, outcome = briefly("linear"), briefly("tinyvgg")
    assert linear.status == outcome.status == "finished"
    margin = outcome.test_accuracy - linear.test_accuracy
    assert margin >= 0.03, f"tinyvgg {outcome.test_accuracy:.2%} against linear {linear.test_accuracy:.2%}"
    assert outcome.test_accuracy >= 0.82, f"test accuracy {outcome.test_accuracy:.2%}"
    summary = RunRecord(outcome.run_dir).read_summary()
    assert summary.test_accuracy == outcome.test_accuracy and summary.epochs == 3
