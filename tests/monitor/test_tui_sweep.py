"""The monitor on a sweep: trials run on the real trainer and tiny data, the leaderboard read from the storage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.sweep.leaderboard import Snapshot, TrialRow, snapshot
from fmtui.core.sweep.runner import Sweep
from fmtui.core.sweep.space import Plan, parse_params
from fmtui.core.sweep.storage import open_storage, open_study
from fmtui.tui.monitor.sweep import finish_sweep, make_sweep_app
from fmtui.tui.monitor.widgets.history import HistoryTable
from fmtui.tui.monitor.widgets.status import StatusLine
from fmtui.tui.monitor.widgets.sweep import SweepView
from tests.support import until
from tests.support.monitor_fakes import drive

SIZE = (80, 24)


def tiny_sweep(tiny_data: Path, runs: Path, trials: int, epochs: int = 2) -> tuple[Sweep, object]:
    base = replace(TrainConfig(), preset="tiny", model="linear", epochs=epochs, batch_size=32, lr=0.01,
                   schedule="constant", val_size=50, device="cpu")
    plan = Plan("tiny-sweep", base, parse_params(["lr=log:1e-3:1e-1"], base), trials)
    study = open_study(plan, open_storage(None, runs), "test")
    return Sweep(plan, study, data=load_fashion_mnist(tiny_data), data_dir=tiny_data, runs_dir=runs), study




@drive
async def test_the_monitor_follows_each_trial_and_the_leaderboard(tiny_data, runs_dir):
    """Each trial shows in the live views as a run; w shows every trial in the leaderboard once the sweep ends."""
    sweep, study = tiny_sweep(tiny_data, runs_dir, trials=3)
    app = make_sweep_app(sweep=sweep, read=lambda: snapshot(study), study="tiny-sweep", runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.sweep_thread is not None and not app.sweeping)
        assert app.sweep_error is None
        await until(pilot, lambda: app.current is not None and app.current.ended)
        assert app.query_one(StatusLine).state == "finished"
        assert sorted(app.runs) == [0, 1, 2], "one monitored run per trial"
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 2)
        await pilot.press("w")
        view = app.query_one(SweepView)
        await until(pilot, lambda: view.snapshot is not None and view.snapshot.done == 3)
        assert view.table.row_count == 3 and "3/3 done" in str(view.title_line.render())
        assert app.check_action("new_run", ()) is False, "the sweep chooses the runs"
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    finish_sweep(app, sweep)


@drive
async def test_the_same_sweep_again_says_the_study_is_complete_and_offers_no_trial_keys(tiny_data, runs_dir):
    """A study that has its trials, swept again: the monitor says it is complete and how to start another,
    not "starting its first trial", and offers neither Pause nor Prune."""
    sweep, study = tiny_sweep(tiny_data, runs_dir, trials=1)
    sweep.run()
    again, _ = tiny_sweep(tiny_data, runs_dir, trials=1)
    app = make_sweep_app(sweep=again, read=lambda: snapshot(study), study="tiny-sweep", runs_dir=runs_dir)
    notices: list[str] = []
    notify = app.notify
    app.notify = lambda message, **options: (notices.append(message), notify(message, **options))
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: status.state == "complete")
        assert "first trial" not in status.subject and not app.runs
        assert any("is complete" in n and "--study NEW" in n for n in notices)
        assert all(app.check_action(action, ()) is False for action in ("pause", "resume", "stop"))
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    finish_sweep(app, again)


@drive
async def test_s_prunes_the_current_trial_and_quitting_interrupts_the_sweep(tiny_data, runs_dir):
    """s prunes the running trial by hand (the sweep goes on); q, confirmed, leaves the next one interrupted."""
    sweep, study = tiny_sweep(tiny_data, runs_dir, trials=5, epochs=400)
    app = make_sweep_app(sweep=sweep, read=lambda: snapshot(study), study="tiny-sweep", runs_dir=runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen >= 1)
        await pilot.press("s")
        await until(pilot, lambda: 1 in app.runs)  # the next trial started
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen >= 1)
        await pilot.press("q")
        await pilot.press("enter")  # "Interrupt and quit"
        await until(pilot, lambda: app.return_code is not None)
    finish_sweep(app, sweep)
    states = [t.state.name for t in study.trials]
    assert states == ["PRUNED", "FAIL"]
    statuses = [RunRecord(Path(t.user_attrs["run_dir"])).read_summary().status for t in study.trials]
    assert statuses == ["pruned", "interrupted"]


FIXED = Snapshot("tinyvgg-sweep", 12, (
    TrialRow(4, "complete", {"lr": 0.00213, "dropout": 0.21, "width": 48}, 0.9012, 3, "finished"),
    TrialRow(1, "complete", {"lr": 0.00098, "dropout": 0.35, "width": 64}, 0.8954, 3, "finished"),
    TrialRow(0, "complete", {"lr": 0.0051, "dropout": 0.12, "width": 32}, 0.8811, 3, "finished"),
    TrialRow(6, "running", {"lr": 0.0031, "dropout": 0.27, "width": 56}, 0.8702, 2),
    TrialRow(2, "pruned", {"lr": 0.0093, "dropout": 0.44, "width": 90}, 0.8120, 1, "pruned"),
    TrialRow(3, "pruned", {"lr": 0.00011, "dropout": 0.48, "width": 35}, 0.7014, 1, "pruned"),
    TrialRow(5, "failed", {"lr": 0.0021, "dropout": 0.3, "width": 40}, None, 0, "interrupted"),
), best_curve=((0, 0.8811), (1, 0.8954), (4, 0.9012)), counts={"complete": 3, "pruned": 2, "failed": 1, "running": 1})


def test_the_sweep_view_at_80x24(snap_compare):
    """--watch at 80x24: the leaderboard with every state, and the best-so-far curve below it."""
    app = make_sweep_app(sweep=None, read=lambda: FIXED, study="tinyvgg-sweep", runs_dir=Path("runs"))

    async def settle(pilot) -> None:
        await until(pilot, lambda: app.query_one(SweepView).snapshot is not None)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("problem", ["OperationalError: the server went away"])
@drive
async def test_a_storage_that_fails_is_said_and_read_again(problem):
    """A read that fails shows on the view's title line; the next successful read replaces it."""
    reads = []

    def read() -> Snapshot:
        reads.append(1)
        if len(reads) == 1:
            raise RuntimeError(problem)
        return FIXED

    app = make_sweep_app(sweep=None, read=read, study="tinyvgg-sweep", runs_dir=Path("runs"))
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(SweepView)
        await until(pilot, lambda: view.problem != "")
        assert problem in str(view.title_line.render())
        await until(pilot, lambda: view.snapshot is FIXED and not view.problem, timeout=5)
        assert "5/12 done" in str(view.title_line.render())
