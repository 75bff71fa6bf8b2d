"""Per-image predictions: what the trainer reports and records about each image, for views and other tools."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.engine.events import DataLoaded, Evaluated, RunStarted
from fmtui.core.engine.metrics import classification_report, worst_class
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli.headless import JsonLines
from tests.support import run_trainer


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_data):
    """One tiny linear run of two epochs, shared by the tests of this module."""
    config = replace(TrainConfig(), preset="tiny", model="linear", epochs=2, batch_size=32, lr=0.01,
                     schedule="constant", val_size=50, device="cpu")
    return run_trainer(config, tiny_data, tmp_path_factory.mktemp("runs"))


def test_the_images_are_sent_once_right_after_the_run_starts(finished_run):
    """DataLoaded follows RunStarted with read-only uint8 arrays of the validation and test splits."""
    _, events = finished_run
    assert isinstance(events[0], RunStarted) and isinstance(events[1], DataLoaded)
    assert sum(isinstance(e, DataLoaded) for e in events) == 1
    data = events[1]
    assert data.val_images.shape == (50, 28, 28) and data.test_images.shape == (100, 28, 28)
    assert data.val_images.dtype == np.uint8 and len(data.val_labels) == 50 and len(data.test_labels) == 100
    assert not data.val_images.flags.writeable and not data.test_images.flags.writeable


def test_each_evaluation_carries_per_image_predictions_that_agree_with_its_matrix(finished_run):
    """Predictions and confidences, in the images' order, rebuild the event's confusion matrix and F1."""
    _, events = finished_run
    data = events[1]
    for e in (e for e in events if isinstance(e, Evaluated)):
        labels = data.test_labels if e.split == "test" else data.val_labels
        assert len(e.predictions) == len(e.confidences) == len(labels)
        assert all(0.1 <= c <= 1.0 for c in e.confidences), "a softmax maximum over 10 classes is at least 0.1"
        report = classification_report(labels, np.array(e.predictions), 10)
        assert report.confusion.tolist() == [list(row) for row in e.confusion]
        assert np.allclose(report.f1, e.f1) and len(e.f1) == 10


def test_predictions_csv_agrees_with_the_confusion_matrix_and_the_summary(finished_run):
    """predictions.csv (one row per test image) counts to confusion_matrix.csv and to summary.json's accuracy."""
    outcome, _ = finished_run
    record = RunRecord(outcome.run_dir)
    with record.predictions_path.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["index", "true", "predicted", "true_name", "predicted_name", "confidence"]
    assert [int(r["index"]) for r in rows] == list(range(100))
    counts = np.zeros((10, 10), dtype=int)
    for r in rows:
        counts[int(r["true"]), int(r["predicted"])] += 1
        assert r["true_name"] == CLASS_NAMES[int(r["true"])] and 0.1 <= float(r["confidence"]) <= 1
    with record.confusion_path.open() as f:
        matrix = [[int(c) for c in row[1:]] for row in list(csv.reader(f))[1:]]
    assert counts.tolist() == matrix
    assert np.trace(counts) / len(rows) == pytest.approx(record.read_summary().test_accuracy)


def test_json_lines_leave_the_images_out_and_keep_the_predictions(finished_run):
    """`--json` prints no DataLoaded line (it would be the dataset); evaluated lines list each image's prediction."""
    _, events = finished_run
    out = io.StringIO()
    lines = JsonLines(out)
    for event in events:
        lines(event)
    parsed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert "data_loaded" not in [p["event"] for p in parsed]
    test = next(p for p in parsed if p["event"] == "evaluated" and p["split"] == "test")
    assert len(test["predictions"]) == len(test["confidences"]) == 100 and len(test["f1"]) == 10


def test_the_worst_class_is_the_one_with_the_lowest_f1():
    """worst_class names the lowest F1, the first of equals."""
    assert worst_class([0.9, 0.6, 0.8, 0.6]) == 1
    assert worst_class([]) is None
