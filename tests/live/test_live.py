"""Runs that outlive their terminal: the event log, the control socket, attaching, detaching."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from fmtui.core.engine.event_reading import event_from_dict
from fmtui.core.engine.events import Paused
from fmtui.core.live.control_client import send
from fmtui.core.live.control_socket import ControlError, ControlServer
from fmtui.core.live.event_log import EVENTS_NAME, EventLog, EventTail
from fmtui.core.records.listing import current_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.history import HistoryTable
from fmtui.tui.monitor.widgets.status import StatusLine
from tests.monitor.test_tui_real import SIZE, preset_file
from tests.support import become, nobody, until, wait_for
from tests.support.monitor_fakes import drive

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fmtui", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, **kwargs)


def start_detached(tmp_path: Path, tiny_data: Path, runs_dir: Path, epochs: int = 400) -> Path:
    """`fmtui train --detach` on the tiny data; the run directory it printed."""
    done = cli("train", "--detach", "--preset", preset_file(tmp_path, epochs=epochs, batch_size=10),
               "--data-dir", tiny_data, "--runs-dir", runs_dir)
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.split("Training in the background")[1].split(": ", 1)[1].splitlines()[0])
    if f"fmtui attach {run_dir}" not in done.stdout:
        kill_run(run_dir)
        pytest.fail(f"no attach command in {done.stdout!r}")
    return run_dir


def logged(run_dir: Path) -> list[str]:
    return [json.loads(line)["event"] for line in (run_dir / EVENTS_NAME).read_text().splitlines()]




def kill_run(run_dir: Path) -> None:
    """Stop a test's background run if it is still going (a failed assertion must not leave it training)."""
    try:
        send(run_dir, "stop")
    except ControlError:
        pass


# --- the log and its reader ----------------------------------------------------------------------

def test_tail_waits_for_a_half_written_line_and_restarts_on_a_new_log(tmp_path):
    """The reader hands back only complete lines, keeps its offset, and starts over when a resume replaces the log."""
    path = tmp_path / EVENTS_NAME
    first = json.dumps(Paused(1, 2).to_dict()) + "\n"
    path.write_text(first + '{"event":"resumed","epo')
    tail = EventTail(path)
    assert tail.read() == [Paused(1, 2)]
    assert tail.read() == []
    with open(path, "a") as f:
        f.write('ch":1,"batch":3}\nnot json\n{"event":"from_the_future"}\n')
    (resumed,) = tail.read()
    assert resumed.kind() == "resumed" and resumed.batch == 3 and tail.skipped == 2
    path.unlink()
    with pytest.raises(FileNotFoundError):
        tail.read()
    path.write_text(first)  # a new log (a resumed run): read from its start
    assert tail.read() == [Paused(1, 2)]


def test_event_log_is_private_and_throttles_batch_progress(tmp_path):
    """The log is 0600, takes every event in full but batch progress (about once a second) and the images."""
    from fmtui.core.config.settings import TrainConfig
    from tests.support.monitor_fakes import run_script

    events = [e for e in run_script(TrainConfig(preset="tiny", epochs=2), epochs_done=2, batches=50, hold=False)
              if hasattr(e, "kind")]
    events[0] = type(events[0])(**{**vars(events[0]), "run_dir": str(tmp_path)})
    log = EventLog(batch_interval=3600)
    for event in events:
        log(event)
    assert log.done.is_set() and (os.stat(tmp_path / EVENTS_NAME).st_mode & 0o777) == 0o600
    read = EventTail(tmp_path / EVENTS_NAME).read()
    batches = [e for e in read if e.kind() == "batch_ended"]
    assert [(b.epoch, b.batch) for b in batches] == [(1, 1), (1, 50), (2, 50)], "first, then each epoch's last"
    assert [e.to_dict() for e in read if e.kind() != "batch_ended"] == \
        [e.to_dict() for e in events if e.kind() != "batch_ended" and not e.local], "the images stay out"
    assert event_from_dict({"event": "epoch_ended"}) is None


# --- the control socket --------------------------------------------------------------------------

def test_control_socket_is_private_and_works_at_any_path_length(tmp_path):
    """The socket is 0600 and owned by the user, and is reached even where the run path exceeds AF_UNIX's limit."""
    run_dir = tmp_path / ("d" * 120) / "run"
    run_dir.mkdir(parents=True)
    asked = []
    server = ControlServer(run_dir, {"pause": lambda: asked.append("pause"), "ping": lambda: "ok"})
    server.start()
    try:
        info = os.stat(run_dir / "control.sock")
        assert (info.st_mode & 0o777) == 0o600 and info.st_uid == os.getuid()
        assert send(run_dir, "pause") == "ok" and asked == ["pause"]
    finally:
        server.close()
    assert not (run_dir / "control.sock").exists()


def test_a_second_user_cannot_control_the_run(tmp_path):
    """Another user on the machine is refused: the socket is the owner's alone."""
    user = nobody("switching users needs root; the socket's 0600 mode is checked by the test above")
    # Where every user may look, as a shared runs directory is: only the socket's own mode keeps them out.
    run_dir = Path(tempfile.mkdtemp(prefix="fmtui-second-user-"))
    os.chmod(run_dir, 0o755)
    asked = []
    server = ControlServer(run_dir, {"stop": lambda: asked.append("stop")})
    server.start()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 3
            try:
                become(user)
                send(run_dir, "stop")
                code = 0
            except ControlError as exc:
                code = 1 if "permission denied" in str(exc) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1, "refused with 'permission denied'"
        assert asked == []
    finally:
        server.close()
        shutil.rmtree(run_dir, ignore_errors=True)


# --- cross-process: a headless run, attached monitors, scripts -------------------------------------

@drive
async def test_attach_shows_history_pauses_and_stops_a_headless_run(tmp_path, tiny_data, runs_dir):
    """Attach to a detached run: its epochs at once, p pauses the process (its log says so), two monitors at
    once, s stops it with a complete record, and q leaves without stopping anything."""
    run_dir = start_detached(tmp_path, tiny_data, runs_dir)
    try:
        wait_for(lambda: "epoch_ended" in logged(run_dir))
        first, second = make_app(attach=run_dir), make_app(attach=run_dir)
        async with first.run_test(size=SIZE) as pilot, second.run_test(size=SIZE) as pilot2:
            await until(pilot, lambda: first.query_one(HistoryTable).epochs_seen >= 1, timeout=10)
            await until(pilot2, lambda: second.query_one(HistoryTable).epochs_seen >= 1, timeout=10)
            await pilot.press("p")
            await until(pilot, lambda: first.query_one(StatusLine).state == "paused")
            await until(pilot2, lambda: second.query_one(StatusLine).state == "paused")
            assert "paused" in logged(run_dir)
            epochs = RunRecord(run_dir).read_summary().epochs
            time.sleep(1.0)
            assert current_summary(RunRecord(run_dir))["status"] == "running"
            assert RunRecord(run_dir).read_summary().epochs == epochs, "no epoch completes while paused"
            await pilot2.press("q")  # leaves at once: no question, the run goes on
            await until(pilot2, lambda: second.return_code is not None)
            await pilot.press("p")  # resume
            await until(pilot, lambda: first.query_one(StatusLine).state == "running")
            await pilot.press("s")
            await until(pilot, lambda: first.query_one(StatusLine).state == "stopped")
        assert second.return_code == 0 and first.finish_runs() == []
        wait_for(lambda: current_summary(RunRecord(run_dir))["status"] == "stopped")
        summary = RunRecord(run_dir).read_summary()
        assert summary.test_accuracy is not None and RunRecord(run_dir).confusion_path.is_file()
        assert logged(run_dir)[-1] == "run_finished"
    finally:
        kill_run(run_dir)


@drive
async def test_an_attached_monitor_shows_the_runs_own_images_or_says_why_not(tmp_path, tiny_data, runs_dir):
    """The examples view of an attached run shows the images the run validates on (read from the data it
    recorded: its predictions score them at the run's own accuracy); with that data gone it says why, and the
    title still counts the cell's images from the matrix instead of saying 0."""
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    done = cli("train", "--detach", "--preset", preset_file(tmp_path, epochs=400, batch_size=10),
               "--data-dir", data, "--runs-dir", runs_dir)
    assert done.returncode == 0, done.stderr
    (run_dir,) = runs_dir.iterdir()
    try:
        wait_for(lambda: "epoch_ended" in logged(run_dir))
        app = make_app(attach=run_dir)
        async with app.run_test(size=SIZE) as pilot:
            view = app.query_one(ExamplesView)
            await until(pilot, lambda: view.data is not None and view.evaluation is not None, timeout=30)
            evaluation = view.evaluation
            shown = np.asarray(evaluation.predictions) == view.data.val_labels
            assert shown.mean() == pytest.approx(evaluation.accuracy), "the same images, in the same order"
            await pilot.press("q")
        shutil.rmtree(data)
        app = make_app(attach=run_dir)
        async with app.run_test(size=SIZE) as pilot:
            view = app.query_one(ExamplesView)
            await until(pilot, lambda: view.unavailable is not None and view.evaluation is not None, timeout=30)
            await pilot.press("e")
            await pilot.pause()
            caption = str(view.query_one("#examples-caption").render())
            assert "No pictures: its images cannot be read here" in caption
            true, predicted = view.cell()
            title = str(view.query_one("#examples-title").render())
            assert f": {view.evaluation.confusion[true][predicted]:,} " in title
            await pilot.press("q")
    finally:
        kill_run(run_dir)


def test_fmtui_stop_on_a_live_run_and_on_a_finished_one(tmp_path, tiny_data, runs_dir):
    """`fmtui stop` stops a live run (record complete, status stopped); on a run that is not live it exits 2."""
    run_dir = start_detached(tmp_path, tiny_data, runs_dir)
    try:
        wait_for(lambda: "epoch_ended" in logged(run_dir))
        listed = cli("runs", "--runs-dir", runs_dir)
        assert "running" in listed.stdout
        done = cli("stop", run_dir.name, "--runs-dir", runs_dir)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: current_summary(RunRecord(run_dir))["status"] == "stopped")
        again = cli("stop", run_dir)
        assert again.returncode == 2 and "is not live (status stopped)" in again.stderr
        assert cli("pause", tmp_path / "nowhere").returncode == 2
    finally:
        kill_run(run_dir)


@drive
async def test_an_attached_run_killed_is_reported(tmp_path, tiny_data, runs_dir):
    """SIGKILL of the run's process while attached: the monitor says the process is gone, the record says killed."""
    run_dir = start_detached(tmp_path, tiny_data, runs_dir)
    pid = int((run_dir / "run.lock").read_text().split()[0])
    try:
        wait_for(lambda: "epoch_ended" in logged(run_dir))
        app = make_app(attach=run_dir)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen >= 1, timeout=10)
            os.kill(pid, signal.SIGKILL)
            began = time.monotonic()
            await until(pilot, lambda: app.query_one(StatusLine).state == "failed", timeout=15)
            assert time.monotonic() - began < 5, "said within a few seconds"
            assert "process is gone" in app.query_one(ErrorPanel).message
            await pilot.press("q")
        assert current_summary(RunRecord(run_dir))["status"] == "killed"
    finally:
        kill_run(run_dir)


def test_sighup_to_the_monitor_leaves_its_run_training_to_the_end(tmp_path, tiny_data, runs_dir):
    """The terminal going away (SIGHUP) ends the monitor, not its run: the run finishes with status finished."""
    master, slave = pty.openpty()
    preset = preset_file(tmp_path, epochs=12, batch_size=10)
    monitor = subprocess.Popen([sys.executable, "-m", "fmtui", "--preset", preset, "--data-dir", str(tiny_data),
                                "--runs-dir", str(runs_dir)], cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True, env={**os.environ, "TERM": "xterm-256color"})
    os.close(slave)
    try:
        wait_for(lambda: runs_dir.is_dir() and any(runs_dir.iterdir()))
        (run_dir,) = runs_dir.iterdir()
        wait_for(lambda: (run_dir / EVENTS_NAME).exists() and "epoch_ended" in logged(run_dir))
        os.kill(monitor.pid, signal.SIGHUP)
        os.close(master)  # the terminal is gone: writes to it now fail
        master = -1
        monitor.wait(timeout=120)
        summary = RunRecord(run_dir).read_summary()
        assert summary.status == "finished" and summary.epochs == 12, summary
        assert summary.test_accuracy is not None
    finally:
        if master >= 0:
            os.close(master)
        if monitor.poll() is None:
            monitor.kill()


# --- the attached monitor without a second process --------------------------------------------------

class AttachedFake:
    """A scripted attached run: it holds until stopped, and records whether anything stopped or left it."""

    attached = True

    def __new__(cls, config):
        from tests.support.monitor_fakes import FakeTrainer, run_script

        fake = FakeTrainer(config, run_script(config, epochs_done=2))
        fake.attached, fake.detached = True, False
        fake.detach = lambda: setattr(fake, "detached", True)
        return fake


def attachable(tmp_path: Path) -> Path:
    from fmtui.core.config.settings import TrainConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    RunRecord(run_dir).write_config(TrainConfig(preset="tiny", model="linear", epochs=5))
    return run_dir


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@drive
async def test_leaving_an_attached_monitor_leaves_the_run_going(tmp_path, key):
    """q and Ctrl-C in an attached monitor leave at once, with no question, and never stop the run."""
    fakes = []
    app = make_app(attach=attachable(tmp_path),
                   attach_trainer=lambda record: fakes.append(AttachedFake(record.read_config())) or fakes[-1])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 2, timeout=10)
        await pilot.press(key)
        await until(pilot, lambda: app.return_code is not None, timeout=10)
    assert app.return_code == 0 and app.finish_runs() == []
    (fake,) = fakes
    assert fake.detached and not fake._stop.is_set(), "left, not stopped"


def test_the_watcher_waits_for_whole_lines_and_reports_a_deleted_run_directory(tmp_path):
    """A half-written last line waits for its end; a run directory deleted while attached ends the view with a
    message."""
    from fmtui.core.records.lock import RunLock
    from fmtui.tui.monitor.remote import AttachedTrainer

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    seen = []
    with RunLock(run_dir):  # live: this process "trains" it
        (run_dir / EVENTS_NAME).write_text(json.dumps(Paused(1, 2).to_dict()) + '\n{"event":"resumed",')
        watcher = AttachedTrainer(run_dir, poll=0.02, grace=0.2)
        watcher.subscribe(seen.append)
        watcher.start()
        wait_for(lambda: seen == [Paused(1, 2)], timeout=5)
        assert watcher.paused
        with open(run_dir / EVENTS_NAME, "a") as f:
            f.write('"epoch":1,"batch":2}\n')
        wait_for(lambda: len(seen) == 2, timeout=5)
        assert not watcher.paused
        shutil.rmtree(run_dir)
        outcome = watcher.wait(timeout=5)
    assert outcome is not None and "was deleted" in outcome.error and outcome.user_error
    assert seen[-1] is outcome


def live_records(runs_dir: Path, count: int) -> list:
    """``count`` run records whose locks this process holds: live, as far as any other process can tell."""
    from datetime import datetime

    from fmtui.core.config.settings import TrainConfig
    from fmtui.core.records.lock import RunLock
    from fmtui.core.records.run_dir import new_summary

    locks = []
    for n in range(count):
        record = RunRecord.create(runs_dir, f"live{n}", datetime(2026, 1, 1, 0, 0, n))
        config = TrainConfig(preset=f"live{n}", model="linear", epochs=5)
        record.write_config(config)
        record.write_summary(new_summary(record, config, datetime.now(), "cpu", 1))
        lock = RunLock(record.path)
        lock.acquire()
        locks.append(lock)
    return locks


def test_attach_without_a_run_names_the_live_ones(tmp_path, runs_dir):
    """`fmtui attach` with none live exits 2 saying so; with several and no terminal to ask, it lists them."""
    runs_dir.mkdir()
    none = cli("attach", "--runs-dir", runs_dir)
    assert none.returncode == 2 and "no run in" in none.stderr and "is live" in none.stderr
    locks = live_records(runs_dir, 2)
    try:
        several = cli("attach", "--runs-dir", runs_dir, stdin=subprocess.DEVNULL)
        assert several.returncode == 2 and "2 runs in" in several.stderr
        assert all(str(lock.path.parent) in several.stderr for lock in locks)
    finally:
        for lock in locks:
            lock.release()


@drive
async def test_enter_on_a_live_run_in_past_runs_attaches(tmp_path, runs_dir):
    """In the past-runs list (r) a live run is listed as running, and Enter attaches to it."""
    from fmtui.tui.monitor.screens.past_runs import PastRuns

    (lock,) = live_records(runs_dir, 1)
    attached = []
    app = make_app(runs_dir=runs_dir,
                   attach_trainer=lambda record: attached.append(record.path) or AttachedFake(record.read_config()))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: len(app.screen_stack) > 1)
            await pilot.press("escape")  # the preset menu that opens when no --preset is given
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, PastRuns))
            assert "running" in str(app.screen.query_one("DataTable").get_row_at(0)[2])
            await pilot.press("enter")
            await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 2, timeout=10)
            assert attached == [lock.path.parent] and app.current.attached
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        lock.release()


def test_a_stuck_subscriber_in_the_run_does_not_hold_up_its_viewers(tiny_config, tiny_data, runs_dir):
    """The event log has its own delivery: a display stuck in the training process (a terminal on hold)
    delays neither the log nor the lock's release, so viewers see the run end when it ends."""
    import threading

    from fmtui.core.engine.trainer import Trainer
    from fmtui.core.live.serve import serve

    trainer = serve(Trainer(tiny_config, data_dir=tiny_data, runs_dir=runs_dir))
    release = threading.Event()
    trainer.subscribe(lambda event: release.wait())
    began = time.monotonic()
    trainer.start()
    trainer._thread.join(60)
    try:
        assert not trainer._thread.is_alive() and time.monotonic() - began < 30
        (run_dir,) = runs_dir.iterdir()
        assert logged(run_dir)[-1] == "run_finished"
        assert current_summary(RunRecord(run_dir))["status"] == "finished", "the lock is free: not 'running'"
    finally:
        release.set()
        trainer.wait(timeout=30)


@drive
async def test_attaching_replays_the_whole_current_epoch_of_batch_progress(tmp_path):
    """On attach, the epochs so far and every logged point of the current epoch's batch-loss curve are shown,
    not only the newest (replayed progress is not coalesced away)."""
    from fmtui.core.records.lock import RunLock
    from fmtui.tui.monitor.widgets.charts import Charts
    from tests.support.monitor_fakes import run_script

    run_dir = attachable(tmp_path)
    config = RunRecord(run_dir).read_config()
    script = [e for e in run_script(config, epochs_done=3, batches=200, batches_in_progress=150)
              if hasattr(e, "kind")]
    (run_dir / EVENTS_NAME).write_text("".join(json.dumps(e.to_dict()) + "\n" for e in script))
    with RunLock(run_dir):
        app = make_app(attach=run_dir)
        async with app.run_test(size=SIZE) as pilot:
            charts = app.query_one(Charts)
            await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 3 and charts.batch_x[-1:] == [150],
                        timeout=10)
            assert charts.epoch == 4 and charts.batch_x == list(range(1, 151))
            await pilot.press("q")
