"""The trainer's parts: each keeps its own state in last.pt, and a run resumes part by part."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine import events
from fmtui.core.engine.events import EarlyStopped, EpochEnded
from fmtui.core.engine.loop import Evaluation
from fmtui.core.engine.parts import BackboneFreeze, make_parts
from fmtui.core.engine.trainer import Trainer, resume_config
from fmtui.core.records.run_dir import RunRecord, replay_epochs
from fmtui.core.records.status import RunStatus
from fmtui.tui.cli.headless import describe
from tests.support import make_dataset, run_trainer


def _validation(loss: float) -> Evaluation:
    one = np.zeros(1)
    return Evaluation(loss, 1.0 - loss, one.astype(np.int64), one.astype(np.int64), one.astype(np.float32))


def _comparable(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "images_per_second")} for row in history]


def test_parts_rebuilt_from_their_saved_state_decide_as_the_originals_would():
    """A fresh set of parts given another's state (through torch.save, as last.pt keeps it) keeps the same best
    epoch, stops early at the same epoch and holds the same weight average."""
    config = replace(TrainConfig(), model="linear", patience=2, ema=0.9)
    model = torch.nn.Linear(4, 2)
    parts = make_parts(config, model)
    for _ in range(3):
        with torch.no_grad():
            model.weight.add_(0.5)
        parts.stepped(model)
    assert parts.validated(1, _validation(0.5), model) is not None, "the first epoch is the best so far"
    assert parts.validated(2, _validation(0.6), model) is None
    saved = torch.load(_saved(parts.state_dict()), weights_only=True)

    again = make_parts(config, torch.nn.Linear(4, 2))
    again.load_state_dict(saved, "last.pt")
    torch.testing.assert_close(again.average.module.weight, parts.average.module.weight)
    for each in (parts, again):
        assert each.validated(3, _validation(0.7), model) is None
        assert each.early_stopping.triggered and each.best.epoch == 1 and each.best.val_accuracy == 0.5


def _saved(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_a_pretrained_backbone_is_held_still_for_its_epochs_and_no_other_model_gets_a_freeze():
    """The freeze part is made only for a model with a backbone, and holds it frozen for freeze_epochs."""

    class WithBackbone(torch.nn.Linear):
        def __init__(self):
            super().__init__(4, 2)
            self.frozen: list[bool] = []

        def freeze_backbone(self, frozen: bool) -> None:
            self.frozen.append(frozen)

    config = replace(TrainConfig(), model="linear", freeze_epochs=2)
    model = WithBackbone()
    parts = make_parts(config, model)
    assert isinstance(parts.freeze, BackboneFreeze)
    for epoch in (1, 2, 3):
        parts.epoch_started(epoch)
    assert model.frozen == [True, True, False]
    assert make_parts(config, torch.nn.Linear(4, 2)).freeze is None


def _interrupted_after_epoch_one(config: TrainConfig, data, runs_dir) -> RunRecord:
    trainer = Trainer(config, data_dir=data, runs_dir=runs_dir)
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, EpochEnded) and e.epoch == 1 else None)
    trainer.start()
    outcome = trainer.wait(timeout=120)
    assert outcome.status == RunStatus.INTERRUPTED
    return RunRecord(outcome.run_dir)


def test_last_pt_keeps_each_parts_state_under_its_name(tiny_config, tiny_data, runs_dir):
    """After an epoch, last.pt holds the best checkpoint's, early stopping's and the weight average's own
    states, and they agree with the summary."""
    config = replace(tiny_config, ema=0.9, patience=3)
    record = _interrupted_after_epoch_one(config, tiny_data, runs_dir)
    state = record.load_state()
    assert set(state["parts"]) == {"best_checkpoint", "early_stopping", "weight_average"}
    summary = record.read_summary()
    assert state["parts"]["best_checkpoint"]["epoch"] == summary.best_epoch
    assert state["parts"]["best_checkpoint"]["val_accuracy"] == summary.best_val_accuracy
    assert state["parts"]["early_stopping"] == {"bad_epochs": summary.epochs - summary.best_epoch}
    assert "ema" not in state and "best_epoch" not in state["progress"]


def test_a_last_pt_of_the_previous_format_still_resumes_exactly(tiny_config, tiny_data, tmp_path):
    """A training state written before the parts kept their own (version 1: best and patience in its progress,
    the average beside it) resumes to the same result as an uninterrupted run."""
    config = replace(tiny_config, epochs=3, ema=0.9, patience=5, flip=True, shift=2)
    straight, _ = run_trainer(config, tiny_data, tmp_path / "straight")
    record = _interrupted_after_epoch_one(config, tiny_data, tmp_path / "broken")
    state = record.load_state()
    parts = state.pop("parts")
    best = parts["best_checkpoint"]
    state.update(version=1, ema=parts["weight_average"],
                 progress={**state["progress"], "best_epoch": best["epoch"], "best_val_loss": best["val_loss"],
                           "best_val_accuracy": best["val_accuracy"],
                           "bad_epochs": parts["early_stopping"]["bad_epochs"]})
    torch.save(state, record.state_path)

    resumed, _ = run_trainer(resume_config(record), tiny_data, tmp_path / "unused", resume=record)
    assert resumed.status == RunStatus.FINISHED
    assert _comparable(record.read_history()) == _comparable(RunRecord(straight.run_dir).read_history())
    assert resumed.test_accuracy == straight.test_accuracy


@pytest.mark.parametrize("damage, message", [
    (lambda parts: parts["early_stopping"].update(bad_epochs="two"),
     r"last\.pt \(early_stopping\) is unreadable: 'bad_epochs' is a string"),
    (lambda parts: parts.pop("best_checkpoint"), r"last\.pt \(best_checkpoint\) is unreadable: it holds null"),
])
def test_a_parts_damaged_state_is_refused_naming_the_file_and_the_part(tiny_config, tiny_data, runs_dir, damage,
                                                                       message):
    """A part's state of the wrong shape, or missing, ends the resume with a message naming last.pt and the part;
    the record stays as it was, resumable once the file is put right."""
    record = _interrupted_after_epoch_one(tiny_config, tiny_data, runs_dir)
    state = record.load_state()
    damage(state["parts"])
    torch.save(state, record.state_path)
    outcome, _ = run_trainer(resume_config(record), tiny_data, runs_dir, resume=record)
    assert outcome.status == RunStatus.FAILED and outcome.user_error
    assert re.search(message, outcome.error), outcome.error
    assert record.read_summary().status == RunStatus.INTERRUPTED


def test_a_run_interrupted_after_it_stopped_early_resumes_straight_to_its_test(tiny_config, tmp_path):
    """Early stopping's saved state tells a resume that training is over: it trains no epoch and runs the test."""
    data = make_dataset(tmp_path / "noise", random_labels=True)
    config = replace(tiny_config, epochs=40, patience=2, lr=0.05)
    trainer = Trainer(config, data_dir=data, runs_dir=tmp_path / "runs")
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, events.TestStarted) else None)
    trainer.start()
    interrupted = trainer.wait(timeout=120)
    record = RunRecord(interrupted.run_dir)
    assert interrupted.status == RunStatus.INTERRUPTED and record.read_summary().test_accuracy is None
    epochs = record.read_summary().epochs
    assert record.load_state()["parts"]["early_stopping"]["bad_epochs"] == 2

    resumed, seen = run_trainer(resume_config(record), data, tmp_path / "runs", resume=record)
    assert resumed.status == RunStatus.FINISHED and resumed.test_accuracy is not None
    assert not [e for e in seen if isinstance(e, (EpochEnded, EarlyStopped))], "no epoch is trained again"
    assert record.read_summary().epochs == epochs


# Validation scores of five epochs: the loss is lowest at epoch 2, the accuracy highest at epochs 3 and 4
# (4 with the lower loss), and epoch 5 diverged with the highest accuracy of all.
_SCORES = [(0.50, 0.90), (0.45, 0.89), (0.48, 0.92), (0.47, 0.92), (float("nan"), 0.95)]


@pytest.mark.parametrize(("select", "best_after_each"), [("loss", [1, 2, 2, 2, 2]), ("accuracy", [1, 1, 3, 4, 4])])
def test_the_best_epoch_is_chosen_by_the_score_select_names_and_a_replayed_record_agrees(select, best_after_each):
    """select = "accuracy" keeps the highest validation accuracy (a tie goes to the lower loss), "loss" the
    lowest loss; a diverged epoch never wins. A record's history replayed (a resumed or attached view) marks
    the same best epochs as the trainer did, and says by which rule."""
    config = replace(TrainConfig(), model="linear", select=select, patience=2)
    model = torch.nn.Linear(4, 2)
    parts = make_parts(config, model)
    bests = []
    for epoch, (loss, accuracy) in enumerate(_SCORES, start=1):
        one = np.zeros(1)
        parts.validated(epoch, Evaluation(loss, accuracy, one.astype(np.int64), one.astype(np.int64),
                                          one.astype(np.float32)), model)
        bests.append(parts.best.epoch)
    assert bests == best_after_each
    assert parts.early_stopping.triggered == (select == "loss"), "early stopping counts epochs by the same rule"

    history = [{"epoch": epoch, "train_loss": 0.5, "train_accuracy": 0.9, "val_loss": loss, "val_accuracy": accuracy,
                "lr": 0.01, "seconds": 1.0, "images_per_second": 100.0}
               for epoch, (loss, accuracy) in enumerate(_SCORES, start=1)]
    replayed = replay_epochs(history, epochs=5, best_by=select)
    assert [e.best_epoch for e in replayed] == best_after_each
    assert {e.best_by for e in replayed} == {select}


def test_a_run_selecting_by_accuracy_keeps_and_tests_its_most_accurate_epoch(tiny_config, tiny_data, runs_dir):
    """A whole run with select = "accuracy": best.pt, the summary and the test split all use the epoch of the
    highest validation accuracy, the events say so, and its early stop says what it waited for."""
    config = replace(tiny_config, epochs=6, lr=0.05, select="accuracy", patience=2)
    outcome, emitted = run_trainer(config, tiny_data, runs_dir)
    record = RunRecord(outcome.run_dir)
    history = record.read_history()
    top = max(row["val_accuracy"] for row in history)
    expected = min((row for row in history if row["val_accuracy"] == top), key=lambda row: row["val_loss"])
    summary = record.read_summary()
    assert summary.best_epoch == expected["epoch"] and summary.best_val_accuracy == top
    assert torch.load(record.path / "best.pt", weights_only=False)["epoch"] == expected["epoch"]
    ended = [e for e in emitted if isinstance(e, EpochEnded)]
    assert ended[-1].best_epoch == expected["epoch"] and {e.best_by for e in ended} == {"accuracy"}
    tested = [e for e in emitted if isinstance(e, events.Evaluated) and e.split == "test"]
    assert tested and tested[0].epoch == expected["epoch"]
    stop = describe(EarlyStopped(epoch=5, best_epoch=3, patience=2, best_by="accuracy"))
    assert stop == "early stop: no better validation accuracy for 2 epochs (best epoch 3)"
