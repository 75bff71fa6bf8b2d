"""Background work in the monitor is Textual workers: the sweep view's storage reads and a sweep's trials."""

from __future__ import annotations

import ast
import os
import pty
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import optuna
import pytest
from textual.app import App
from textual.screen import Screen

from fmtui.core.records.run_dir import RunRecord
from fmtui.core.sweep.runner import SweepInterrupted
from fmtui.tui.monitor.sweep import finish_sweep, make_sweep_app
from fmtui.tui.monitor.widgets.sweep import SweepView
from tests.monitor.test_tui_sweep import FIXED
from tests.support import until
from tests.support.monitor_fakes import drive

ROOT = Path(__file__).resolve().parents[2]




class Slow:
    """A storage read that holds until released, as a database across a network can."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.release = threading.Event()

    def __call__(self):
        self.threads.append(threading.current_thread())
        self.release.wait(10)
        return FIXED


class Holder(Screen):
    def compose(self):
        yield SweepView()


@asynccontextmanager
async def watching(monkeypatch):
    """An app whose screen's sweep view polls a slow read, once the first read is out."""
    monkeypatch.setattr("fmtui.tui.monitor.widgets.sweep.POLL_SECONDS", 0.05)
    read, app = Slow(), App()
    async with app.run_test() as pilot:
        await app.push_screen(Holder())
        view = app.screen.query_one(SweepView)
        view.watch_study(read)
        await until(pilot, lambda: read.threads)
        yield pilot, app, view, read


def readers(app: App) -> list:
    return [worker for worker in app.workers if worker.group == "sweep-read"]


@drive
async def test_the_sweep_view_reads_in_one_worker_at_a_time_off_the_ui_thread(monkeypatch):
    """A read still out holds back the next poll; once it returns, the view shows it and polls again."""
    async with watching(monkeypatch) as (pilot, app, view, read):
        assert read.threads[0] is not threading.main_thread()
        (worker,) = readers(app)
        assert worker.node is view and worker.is_running
        await pilot.pause(0.4)  # eight polls' worth
        assert len(read.threads) == 1, "never two reads of the storage at once"
        read.release.set()
        await until(pilot, lambda: view.reads >= 2)
        assert view.snapshot is FIXED


@drive
async def test_the_sweep_view_s_reads_stop_with_its_screen(monkeypatch):
    """Closing the screen cancels the read in progress: what it brings back is dropped, and no read follows."""
    async with watching(monkeypatch) as (pilot, app, view, read):
        (worker,) = readers(app)
        shown: list = []
        post = view.post_message
        view.post_message = lambda message: (shown.append(message) if isinstance(message, SweepView.Read)
                                             else None, post(message))[1]
        await app.pop_screen()
        await until(pilot, lambda: worker.is_cancelled)
        read.release.set()
        await pilot.pause(0.4)
        assert shown == [] and view.reads == 0 and view.snapshot is None
        assert len(read.threads) == 1, "no poll after the screen closed"


class HeldSweep:
    """A sweep whose trial holds until it is interrupted, as a long trial does."""

    def __init__(self) -> None:
        self.on_trial = None
        self.interrupted = threading.Event()
        self.threads: list[threading.Thread] = []

    def run(self) -> None:
        self.threads.append(threading.current_thread())
        if self.interrupted.wait(30):
            raise SweepInterrupted()

    def interrupt(self) -> None:
        self.interrupted.set()

    def hurry(self) -> None:
        self.interrupted.set()


@drive
async def test_a_sweep_s_trials_run_in_the_app_s_worker_and_closing_it_interrupts_them(tmp_path):
    """The trials run in a thread worker of the app; quitting (confirmed) interrupts the trial in progress."""
    sweep = HeldSweep()
    app = make_sweep_app(sweep=sweep, read=lambda: FIXED, study="tinyvgg-sweep", runs_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: sweep.threads)
        assert sweep.threads[0] is not threading.main_thread()
        (worker,) = [w for w in app.workers if w.group == "sweep"]
        assert worker is app.sweep_thread and app.sweeping
        await pilot.press("q")
        await pilot.press("y")  # "Interrupt and quit"
        await until(pilot, lambda: app.return_code is not None)
    assert sweep.interrupted.is_set(), "closing the app interrupted the trial"
    finish_sweep(app, sweep, timeout=10)
    assert not app.sweeping and isinstance(app.sweep_error, SweepInterrupted)


def test_the_monitor_starts_raw_threads_only_where_they_must_outlive_the_app():
    """threading.Thread appears in the monitor only in the watchdog (lifecycle) and an attached run's watcher."""
    found = set()
    for path in (ROOT / "tui" / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "Thread":
                found.add(path.relative_to(ROOT / "tui" / "monitor").as_posix())
    assert found <= {"lifecycle.py", "remote.py"}


TINY = """description = "tiny linear run for the sweep monitor test"
model = "linear"
epochs = 200
batch_size = 2
lr = 0.01
schedule = "constant"
val_size = 50
device = "cpu"
"""


@pytest.mark.timeout(240)
def test_q_in_a_sweep_s_monitor_in_a_terminal_ends_promptly_with_its_trial_interrupted(tiny_data, tmp_path,
                                                                                          spawned):
    """`fmtui sweep` in a terminal: q, confirmed, ends the process within seconds, its trial recorded failed."""
    preset = tmp_path / "tiny.toml"
    preset.write_text(TINY)
    runs = tmp_path / "runs"
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "fmtui", "sweep", str(preset), "--trials", "2", "--param", "lr=log:1e-3:1e-1",
         "--data-dir", str(tiny_data), "--runs-dir", str(runs)], cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True, env={**os.environ, "TERM": "xterm-256color", "OMP_NUM_THREADS": "1"})
    spawned.append(process)
    os.close(slave)
    screen: list[bytes] = []

    def drain() -> None:  # a terminal that is never read fills up, and the app's writes then block
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            screen.append(chunk)

    threading.Thread(target=drain, daemon=True).start()
    try:
        storage = f"sqlite:///{runs / 'sweeps.db'}"

        def trial_trained_an_epoch() -> bool:
            try:
                trials = optuna.load_study(study_name="tiny-sweep", storage=storage).trials
            except Exception:  # the study is not there yet
                return False
            return any(t.user_attrs.get("epochs", 0) >= 1 for t in trials)

        deadline = time.monotonic() + 150
        while not trial_trained_an_epoch():
            assert process.poll() is None and time.monotonic() < deadline, b"".join(screen)[-2000:]
            time.sleep(0.2)
        os.write(master, b"q")
        time.sleep(1.0)
        os.write(master, b"y")
        asked = time.monotonic()
        assert process.wait(timeout=60) == 0, b"".join(screen)[-2000:]
        assert time.monotonic() - asked < 30, "the app closed without waiting for the sweep to run out"
    finally:
        os.close(master)
    (trial,) = optuna.load_study(study_name="tiny-sweep", storage=storage).trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert RunRecord(Path(trial.user_attrs["run_dir"])).read_summary().status == "interrupted"
