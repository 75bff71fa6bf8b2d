"""The monitor on the real trainer, on tiny data: a whole run, a quit mid-run, and a run that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.launch import interrupted_note, make_app
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.history import HistoryTable
from fmtui.tui.monitor.widgets.status import StatusLine
from tests.support import make_dataset, until
from tests.support.monitor_fakes import drive

SIZE = (80, 24)


def preset_file(tmp_path: Path, **settings) -> str:
    """A preset for the tiny data: a linear model that trains in well under a second per epoch."""
    values = {"model": "linear", "epochs": 3, "batch_size": 32, "lr": 0.01, "schedule": "constant",
              "val_size": 50, "device": "cpu", **settings}
    path = tmp_path / "tiny.toml"
    path.write_text("".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items()))
    return str(path)




async def leave_mid_run(tmp_path: Path, tiny_data: Path, runs_dir: Path, *keys: str):
    """Start a run far too long to finish, press ``keys`` once its first epoch is in, and wait for the
    app to exit; returns the app, whose runs are still to be finished."""
    app = make_app(preset=preset_file(tmp_path, epochs=500, batch_size=10), data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen >= 1)
        await pilot.press(*keys)
        await until(pilot, lambda: app.return_code is not None)
    return app


def only_run(runs_dir: Path) -> RunRecord:
    (path,) = runs_dir.iterdir()
    return RunRecord(path)


@drive
async def test_a_real_run_from_preset_to_record(tmp_path, tiny_data, runs_dir):
    """`fmtui --preset FILE` trains at once; the app shows every epoch and the test result the record holds."""
    app = make_app(preset=preset_file(tmp_path), data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(StatusLine).state == "finished")
        summary = only_run(runs_dir).read_summary()
        assert summary.status == "finished" and summary.epochs == 3
        assert app.query_one(HistoryTable).row_count == 3
        shown = app.query_one(ConfusionView).evaluation
        assert shown.split == "test" and shown.accuracy == summary.test_accuracy
    app.finish_runs()


@drive
async def test_confirmed_quit_mid_run_leaves_a_complete_record(tmp_path, tiny_data, runs_dir):
    """Quitting during a long run stops it, tests the best weights and writes the record before exiting."""
    app = await leave_mid_run(tmp_path, tiny_data, runs_dir, "q", "y")
    assert app.return_code == 0 and app.runs[1].ended
    record = only_run(runs_dir)
    summary = record.read_summary()
    assert summary.status == "stopped" and summary.test_accuracy is not None and summary.ended_at
    assert record.confusion_path.is_file() and record.best_path.is_file()


@drive
async def test_a_real_failure_is_shown_in_the_app(tmp_path, tiny_data, runs_dir):
    """A batch size larger than the training split fails the run; the app says so and keeps going."""
    app = make_app(preset=preset_file(tmp_path, batch_size=100_000), data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(StatusLine).state == "failed")
        panel = app.query_one(ErrorPanel)
        assert panel.display and "batch_size = 100,000" in panel.message
        assert app.is_running and app.internal_errors == []
    app.finish_runs()


@drive
async def test_ctrl_c_leaves_an_interrupted_resumable_record(tmp_path, tiny_data, runs_dir):
    """Ctrl-C exits with 130; the run ends interrupted with its state saved, and the exit names it."""
    app = await leave_mid_run(tmp_path, tiny_data, runs_dir, "ctrl+c")
    assert app.return_code == 130
    record = only_run(runs_dir)
    assert app.finish_runs() == [str(record.path)]
    summary = record.read_summary()
    assert summary.status == "interrupted" and summary.epochs >= 1 and record.state_path.is_file()
    assert f"continue it with `fmtui train --resume {record.path}`" in interrupted_note(record.path)


@drive
async def test_a_past_run_opens_in_every_view_as_it_ended(tmp_path, tiny_data, runs_dir):
    """r, End, Enter on a finished run: its charts, history, confusion matrix and examples show it as it ended
    (the test split, from its record and its data); the list shows its learning rate; nothing rings."""
    from fmtui.core.config.presets import load_preset
    from fmtui.tui.monitor.screens.past_runs import PastRuns
    from fmtui.tui.monitor.widgets.confusion import ConfusionView
    from fmtui.tui.monitor.widgets.examples import ExamplesView
    from fmtui.tui.monitor.widgets.history import HistoryTable
    from tests.support import run_trainer

    config = load_preset(preset_file(tmp_path))
    finished, _ = run_trainer(config, tiny_data, runs_dir)
    run_trainer(config, tiny_data, runs_dir)  # a newer one, listed first
    summary = RunRecord(finished.run_dir).read_summary()
    app = make_app(data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.press("escape")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        table = app.screen.query_one("DataTable")
        assert str(table.get_row_at(1)[-1]) == f"{config.lr:g}", "the learning rate tells runs apart"
        await pilot.press("end", "enter")  # End: the last row, the oldest run
        examples = app.query_one(ExamplesView)
        await until(pilot, lambda: app.query_one(StatusLine).state == "finished" and examples.data is not None)
        history = app.query_one(HistoryTable)
        assert history.row_count == summary.epochs
        evaluation = app.query_one(ConfusionView).evaluation
        assert evaluation.split == "test" and evaluation.accuracy == pytest.approx(summary.test_accuracy)
        assert examples.evaluation is evaluation and len(examples.members()) > 0
        await pilot.press("e")
        await pilot.pause()
        assert "appears when" not in str(examples.query_one("#examples-title").render())
        assert app.current.replayed and not app.active
        assert app.current.trainer.record.path == finished.run_dir, "End chose the last row: the oldest run"


@drive
async def test_past_runs_can_be_compared_and_an_interrupted_one_resumed(tmp_path, tiny_data, runs_dir):
    """r lists past runs: c adds one to the comparison, r resumes an interrupted one in its own directory."""
    from dataclasses import replace

    from fmtui.core.config.presets import load_preset
    from fmtui.core.engine.events import EpochEnded
    from fmtui.core.engine.trainer import Trainer
    from fmtui.tui.monitor.screens.past_runs import PastRuns
    from fmtui.tui.monitor.widgets.compare import CompareView
    from fmtui.tui.monitor.widgets.history import HistoryTable
    from tests.support import run_trainer

    config = load_preset(preset_file(tmp_path))
    finished, _ = run_trainer(config, tiny_data, runs_dir)
    trainer = Trainer(replace(config, epochs=6), data_dir=tiny_data, runs_dir=runs_dir)
    trainer.subscribe(lambda e: trainer.stop("interrupted") if isinstance(e, EpochEnded) else None)
    trainer.start()
    interrupted = trainer.wait(timeout=60)
    assert interrupted.status == "interrupted"

    app = make_app(data_dir=tiny_data, runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.screen_stack) > 1)
        await pilot.press("escape")  # the preset menu that opens when no --preset is given
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        await pilot.press("down", "c")  # newest first: the second row is the finished run
        compare = app.query_one(CompareView)
        await until(pilot, lambda: len(compare.runs) == 1)
        (entry,) = compare.runs.values()
        assert entry.run_dir == str(finished.run_dir) and entry.status == "finished"
        assert entry.test == RunRecord(finished.run_dir).read_summary().test_accuracy
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        await pilot.press("r")  # the first row: the interrupted run
        await until(pilot, lambda: app.query_one(StatusLine).state == "finished")
        # The resumed run is shown whole: the epochs before the interruption as well as this session's.
        history = app.query_one(HistoryTable)
        assert [history.get_row_at(i)[0] for i in range(history.row_count)] == [str(e) for e in range(1, 7)]
        assert compare.runs["1"].epochs == list(range(1, 7))
    app.finish_runs()
    summary = RunRecord(interrupted.run_dir).read_summary()
    assert summary.status == "finished" and summary.epochs == 6
    assert len(list(runs_dir.iterdir())) == 2, "the resumed run continued in its own directory"


@drive
async def test_a_run_interrupted_before_its_first_epoch_is_not_offered_for_resume(tmp_path, runs_dir):
    """Ctrl-C in the monitor while a real run's first epoch trains: the record has no state to resume
    from, and the exit note says so instead of offering --resume."""
    data = make_dataset(tmp_path / "data", train_per_class=600)  # an epoch of several seconds
    app = make_app(preset=preset_file(tmp_path, model="tinyvgg", epochs=5, batch_size=4), data_dir=data,
                   runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: runs_dir.is_dir() and any(runs_dir.iterdir()))
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.return_code is not None)
    record = only_run(runs_dir)
    assert app.finish_runs() == [str(record.path)]
    summary = record.read_summary()
    assert summary.status == "interrupted" and summary.epochs == 0 and not record.state_path.exists()
    note = interrupted_note(record.path)
    assert "nothing to resume" in note and "--resume" not in note
