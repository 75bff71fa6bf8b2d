"""Hardening, outside the trainer: the run directory's files and socket as other users and processes
meet them, files fmtui reads as untrusted input, and what an attached monitor shows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine import events as ev
from fmtui.core.engine.event_reading import event_from_dict
from fmtui.core.engine.events import BatchEnded, EpochEnded, Paused, RunFinished
from fmtui.core.errors import ConfigError, DataError, RecordError
from fmtui.core.live.control_client import send
from fmtui.core.live.control_socket import ControlError, ControlServer
from fmtui.core.live.event_log import EVENTS_NAME, EventLog, EventTail
from fmtui.core.records.lock import RunLock, is_live
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.widgets.history import HistoryTable
from tests.monitor.test_tui import SIZE, Factory
from tests.monitor.test_tui_real import preset_file
from tests.support import become, nobody, until, wait_for
from tests.support.monitor_fakes import drive, run_script

ROOT = Path(__file__).resolve().parents[2]
CONFIG = replace(TrainConfig(), preset="tiny", model="linear", epochs=3, batch_size=32, device="cpu")


def cli(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fmtui", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, **kwargs)




def log_lines(events: list) -> str:
    return "".join(json.dumps(e.to_dict()) + "\n" for e in events if hasattr(e, "kind") and not e.local)


def served(trainer: Any) -> Any:
    """The trainer with its event log and control socket, as `fmtui train` and the monitor attach them."""
    if hasattr(trainer, "attach"):
        from fmtui.core.live.serve import serve

        return serve(trainer)
    return trainer  # a trainer that serves them itself


# --- another user's view, for real: a forked child that drops root -----------------------------------

@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory any user may enter (pytest's own temporary directories are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="fmtui-outside-"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_nobody(action: Callable[[], Any]) -> tuple[str, Any]:
    """Run ``action`` in a forked child as the user nobody (every module it needs already imported):
    ("", its JSON-able result) or (the exception's class name, its message)."""
    user = nobody()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.close(read_end)
            become(user)
            try:
                result: tuple[str, Any] = ("", action())
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, whatever it is
                result = (type(exc).__name__, str(exc))
            os.write(write_end, json.dumps(result, default=str).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    kind, value = json.loads(b"".join(chunks))
    return kind, value


def readable_by_all(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)


# --- the run directory: the owner's alone, never written through a link ------------------------------

@pytest.mark.parametrize("umask", [0o000, 0o002])
def test_a_run_directory_and_everything_in_it_are_the_owner_s_alone_whatever_the_umask(umask, tiny_config,
                                                                                       tiny_data, runs_dir):
    """Under umask 000 or 002 a run directory is 0700 and every file in it 0600: no one else reads its
    weights or writes its records."""
    from fmtui.core.engine.trainer import Trainer

    previous = os.umask(umask)
    try:
        trainer = served(Trainer(tiny_config, data_dir=tiny_data, runs_dir=runs_dir))
        trainer.start()
        outcome = trainer.wait(timeout=120)
    finally:
        os.umask(previous)
    assert outcome is not None and outcome.status == "finished"
    (run_dir,) = runs_dir.iterdir()
    assert oct(os.stat(run_dir).st_mode & 0o777) == oct(0o700)
    names = {p.name: oct(os.stat(p).st_mode & 0o777) for p in run_dir.iterdir()}
    assert {"config.json", "summary.json", "best.pt", "last.pt", "run.lock", EVENTS_NAME} <= set(names)
    assert names == dict.fromkeys(names, oct(0o600))


def test_files_in_a_run_directory_are_never_written_through_a_planted_link(tmp_path, monkeypatch):
    """Links someone planted under the log's, the lock's or a temporary file's name are replaced or refused;
    the files they point at are left exactly as they were."""
    import secrets

    from fmtui.core.records.files import atomic_write_json

    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.chmod(victim, 0o644)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / EVENTS_NAME).symlink_to(victim)
    (run_dir / "run.lock").symlink_to(victim)
    tokens = iter(["planted", "fresh", "fresh-too"])
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(tokens))
    for guess in (f".summary.json.{os.getpid()}.tmp", ".summary.json.planted.tmp"):
        (run_dir / guess).symlink_to(victim)

    atomic_write_json(run_dir / "summary.json", {"status": "running"})
    started = replace(run_script(CONFIG, epochs_done=0)[0], run_dir=str(run_dir))
    log = EventLog()
    log(started)
    log(Paused(1, 2))
    with pytest.raises(RecordError, match="run.lock"):
        RunLock(run_dir).acquire()

    assert victim.read_text() == "precious" and oct(os.stat(victim).st_mode & 0o777) == oct(0o644)
    for name in (EVENTS_NAME, "summary.json"):
        info = os.lstat(run_dir / name)
        assert not (run_dir / name).is_symlink() and oct(info.st_mode & 0o777) == oct(0o600)
    assert [e.to_dict() for e in EventTail(run_dir / EVENTS_NAME).read()] == [started.to_dict(), Paused(1, 2).to_dict()]


# --- the control socket -----------------------------------------------------------------------------

def test_the_client_refuses_a_control_socket_served_by_another_user(public_dir):
    """`fmtui stop` on a run whose control.sock another user's process serves (planted in a directory they
    can write) sends it nothing and says so."""
    user = nobody()
    run_dir = public_dir / "run"
    run_dir.mkdir()
    os.chmod(run_dir, 0o777)  # writable by everyone: what makes planting possible
    ready_r, ready_w = os.pipe()
    heard_r, heard_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the impostor: serves the socket as nobody until told to stop
        try:
            become(user)
            server = ControlServer(run_dir, {"stop": lambda: os.write(heard_w, b"stop") and None})
            server.start()
            os.write(ready_w, b"ready")
            os.read(done_r, 1)
            server.close()
        finally:
            os._exit(0)
    try:
        assert os.read(ready_r, 5) == b"ready"
        with pytest.raises(ControlError, match="another user") as refused:
            send(run_dir, "stop")
        assert "nothing was sent" in str(refused.value)
    finally:
        os.write(done_w, b"x")
        os.waitpid(pid, 0)
    os.set_blocking(heard_r, False)
    with pytest.raises(BlockingIOError):
        os.read(heard_r, 10)  # the impostor heard no request


def test_a_client_sending_a_byte_every_1_5_s_holds_up_no_other(tmp_path):
    """A client that dribbles its request does not starve the server: another is answered at once, and the
    dribbler is cut off by the deadline for its whole request without its request being done."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    asked: list[str] = []
    server = ControlServer(run_dir, {"stop": lambda: asked.append("stop")})
    server.start()
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        slow.connect(str(run_dir / "control.sock"))

        def dribble() -> None:
            for byte in b"stop\n":
                try:
                    slow.send(bytes([byte]))
                except OSError:
                    return
                time.sleep(1.5)

        threading.Thread(target=dribble, daemon=True).start()
        time.sleep(0.3)
        began = time.monotonic()
        assert send(run_dir, "stop", timeout=5) == "ok"
        assert time.monotonic() - began < 1.5, "answered without waiting for the slow client"
        slow.settimeout(10)
        heard = b""
        while chunk := slow.recv(256):
            heard += chunk
        assert b"did not arrive within" in heard and b"nothing was done" in heard
        assert asked == ["stop"], "the dribbled request was not carried out"
    finally:
        slow.close()
        server.close()


def test_a_request_reported_as_failed_never_takes_effect_later(tmp_path):
    """A client that gives up before the run took its request says nothing was sent, and the request is
    not carried out afterwards; one that gives up after sending says it was sent but not confirmed."""
    from fmtui.core.live import control_socket

    clients, seconds = getattr(control_socket, "MAX_CLIENTS", 8), getattr(control_socket, "REQUEST_SECONDS", 2.0)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    asked: list[str] = []
    slow_stop = threading.Event()

    def stop() -> None:
        if slow_stop.is_set():
            time.sleep(1.5)
        asked.append("stop")

    server = ControlServer(run_dir, {"stop": stop})
    server.start()
    hogs = []
    try:
        for _ in range(clients):  # every slot held by a client that says nothing
            hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            hog.connect(str(run_dir / "control.sock"))
            hogs.append(hog)
        time.sleep(0.3)
        with pytest.raises(ControlError, match="nothing was done"):
            send(run_dir, "stop", timeout=0.5)
        time.sleep(seconds + 1.0)
        assert asked == [], "a request reported as failed was carried out afterwards"
        assert send(run_dir, "stop") == "ok" and asked == ["stop"]
        slow_stop.set()
        with pytest.raises(ControlError, match="sent but not confirmed"):
            send(run_dir, "stop", timeout=0.5)
        wait_for(lambda: len(asked) == 2, timeout=5)  # it did take effect, as the message said it might
    finally:
        for hog in hogs:
            hog.close()
        server.close()


def test_pause_and_resume_say_what_happened(tiny_config, tiny_data, runs_dir):
    """`fmtui pause` while the run tests its best weights says it is not paused (exit 2), and `fmtui resume`
    on a run that is not paused says nothing changed, instead of "paused" and "resumed"."""
    from fmtui.core.engine.trainer import Trainer

    trainer = served(Trainer(tiny_config, data_dir=tiny_data, runs_dir=runs_dir))
    testing, checked = threading.Event(), threading.Event()
    keep_testing = trainer._keep_testing

    def held_in_the_test() -> bool:  # the test phase held open while the requests are made
        testing.set()
        checked.wait(60)
        return keep_testing()

    trainer._keep_testing = held_in_the_test
    trainer.start()
    try:
        assert testing.wait(120)
        (run_dir,) = runs_dir.iterdir()
        with pytest.raises(ControlError, match="not paused: it is stopping or past its last training batch"):
            send(run_dir, "pause")
        paused = cli("pause", run_dir)
        assert paused.returncode == 2 and "not paused" in paused.stderr and "Traceback" not in paused.stderr
        resumed = cli("resume", run_dir)
        assert resumed.returncode == 0 and "resume changed nothing: it was not paused" in resumed.stdout
        assert not trainer.paused
    finally:
        checked.set()
        outcome = trainer.wait(timeout=120)
    assert outcome is not None and outcome.status == "finished"


# --- files read back are untrusted input --------------------------------------------------------------

def test_events_of_the_wrong_shape_are_skipped_and_counted(tmp_path):
    """A log line whose fields are not of their types (a loss "a", a bool epoch, a confusion matrix that does
    not fit its classes, an unhashable kind, the images) is skipped and counted, never handed on."""
    script = [e for e in run_script(CONFIG, epochs_done=1, batches=4, hold=False) if hasattr(e, "kind")]
    good = [e for e in script if not e.local]
    batch = next(e for e in good if isinstance(e, BatchEnded)).to_dict()
    evaluated = next(e.to_dict() for e in good if e.kind() == "evaluated")
    started = good[0].to_dict()
    bad = [{**batch, "loss": "a"}, {**batch, "loss": 10**400}, {**batch, "epoch": True}, {**batch, "batch": -1},
           {**batch, "eta_seconds": [1]}, {**evaluated, "confusion": evaluated["confusion"][:-1]},
           {**evaluated, "predictions": [99] * 3, "confidences": [0.5] * 3},
           {**started, "config": {"trial": "x"}}, {**started, "class_names": "abc"}, {"event": ["batch_ended"]},
           {"event": "data_loaded", "val_images": 1, "val_labels": 1, "test_images": 1, "test_labels": 1},
           [1, 2], "text"]
    assert all(event_from_dict(line) is None for line in bad)
    path = tmp_path / EVENTS_NAME
    path.write_text(log_lines(good[:1]) + "".join(json.dumps(line) + "\n" for line in bad) + log_lines(good[1:]))
    tail = EventTail(path)
    assert [e.to_dict() for e in tail.read()] == [e.to_dict() for e in good] and tail.skipped == len(bad)
    assert event_from_dict({**batch, "loss": None}).loss != event_from_dict({**batch, "loss": None}).loss, "NaN"


@drive
async def test_an_attached_monitor_shows_a_log_with_a_wrong_typed_field_and_keeps_running(tmp_path):
    """A batch_ended line with "loss": "a" in the log: the monitor shows the rest and carries on, this time
    and on every later attach."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    RunRecord(run_dir).write_config(CONFIG)
    script = [e for e in run_script(CONFIG, epochs_done=2, batches=16, batches_in_progress=5) if hasattr(e, "kind")]
    poisoned = {**next(e for e in script if isinstance(e, BatchEnded)).to_dict(), "epoch": 3, "loss": "a"}
    (run_dir / EVENTS_NAME).write_text(log_lines(script) + json.dumps(poisoned) + "\n")
    with RunLock(run_dir):
        for _ in range(2):
            app = make_app(attach=run_dir)
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 2, timeout=10)
                await pilot.pause(0.5)
                assert app.is_running
                await pilot.press("q")
            assert app.return_code == 0


def test_a_run_directory_another_user_cannot_enter_is_listed_as_unreadable(public_dir):
    """A run directory of mode 000, as a user other than root sees it: listed as unreadable with its path,
    and named when opened, instead of an internal PermissionError."""
    from fmtui.core.records.listing import list_runs, open_run, run_summary
    from tests.support.record_fakes import write_record

    write_record(public_dir / "1-good")
    locked = write_record(public_dir / "2-locked").path
    readable_by_all(public_dir)
    os.chmod(locked, 0)

    def look() -> Any:
        listed = [(record.path.name, run_summary(record)) for record in list_runs(public_dir)]
        try:
            open_run(locked).read_summary()
            opened = "read"
        except RecordError as exc:
            opened = str(exc)
        return {"listed": [(name, s["status"], s.get("error", "")) for name, s in listed], "opened": opened}

    kind, seen = as_nobody(look)
    assert kind == "", seen
    (good, bad) = seen["listed"]
    assert good[:2] == ["1-good", "finished"]
    assert bad[:2] == ["2-locked", "unreadable"] and str(locked) in bad[2] and "ermission denied" in bad[2]
    assert str(locked) in seen["opened"]


@drive
async def test_the_monitor_s_past_runs_list_a_run_it_cannot_read(tmp_path, monkeypatch):
    """r in the monitor with a run directory this user may not enter (simulated: every look inside it is
    refused) lists it as unreadable, and choosing it names its path, instead of crashing."""
    import io

    from fmtui.tui.monitor.screens.past_runs import PastRuns
    from tests.support.record_fakes import write_record

    runs = tmp_path / "runs"
    write_record(runs / "1-good")
    locked = write_record(runs / "2-locked").path

    def refused(path: Any) -> bool:
        return isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(f"{locked}{os.sep}")

    def guard(call: Callable) -> Callable:
        def guarded(path: Any, *args: Any, **kwargs: Any) -> Any:
            if refused(path):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return call(path, *args, **kwargs)

        return guarded

    for module, name in ((os, "stat"), (os, "open"), (io, "open")):
        monkeypatch.setattr(module, name, guard(getattr(module, name)))
    app = make_app(runs_dir=runs, trainer_factory=Factory())
    notices: list[str] = []
    notify = app.notify
    app.notify = lambda message, **options: (notices.append(message), notify(message, **options))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")  # the preset menu opens first
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        table = app.screen.query_one("DataTable")
        assert table.row_count == 2 and [str(c) for c in table.get_row_at(0)][2] == "unreadable"
        table.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: any(str(locked) in notice for notice in notices))
        assert app.is_running


def test_a_data_file_this_user_cannot_read_is_named_with_exit_2(public_dir, tiny_data):
    """A FashionMNIST file of mode 000, as a user other than root sees it, is a DataError naming it (exit 2)."""
    from fmtui.core.data.fashion_mnist import load_fashion_mnist, raw_dir

    data = public_dir / "data"
    shutil.copytree(tiny_data, data)
    readable_by_all(public_dir)
    locked = raw_dir(data) / "train-labels-idx1-ubyte"
    os.chmod(locked, 0)
    kind, message = as_nobody(lambda: load_fashion_mnist(data, download=False) and None)
    assert kind == DataError.__name__ and str(locked) in message and "cannot be read" in message
    os.chmod(raw_dir(data), 0)  # the directory above the files: not even their presence can be told
    kind, message = as_nobody(lambda: load_fashion_mnist(data, download=False) and None)
    assert kind == DataError.__name__ and str(raw_dir(data)) in message


def test_a_read_only_sqlite_storage_is_named_with_exit_2(public_dir):
    """A sweep on an SQLite storage this user cannot write is a ConfigError naming it before any trial,
    not Optuna's "exceeding max length"."""
    from fmtui.core.config.presets import load_preset
    from fmtui.core.sweep.space import Plan, parse_params
    from fmtui.core.sweep.storage import open_storage, open_study

    base = load_preset("linear")
    plan = Plan("ro", base, parse_params(["lr=log:1e-3:1e-1"], base), trials=2)
    database = public_dir / "sweeps.db"
    open_study(plan, open_storage(str(database), public_dir), "test")  # root's: read-only to anyone else
    readable_by_all(public_dir)
    kind, message = as_nobody(lambda: open_study(plan, open_storage(str(database), public_dir), "x") and None)
    assert kind == ConfigError.__name__ and str(database) in message and "read-only" in message


@pytest.mark.parametrize("name", ["typo.db", "typo.log"])
def test_sweep_watch_with_a_mistyped_storage_exits_2_and_creates_nothing(tmp_path, name):
    """`fmtui sweep --watch --storage PATH` with a path that is not there names it, exits 2, and leaves no
    new file behind (neither an SQLite database nor a journal)."""
    missing = tmp_path / name
    done = cli("sweep", "--watch", "--study", "s", "--storage", missing, "--json")
    assert done.returncode == 2 and str(missing) in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr and not missing.exists() and list(tmp_path.iterdir()) == []


# --- detached runs -----------------------------------------------------------------------------------

def test_detach_with_a_runs_dir_it_cannot_make_or_write_exits_2(tmp_path, tiny_data, public_dir):
    """--detach with a --runs-dir under a regular file, or one this user cannot write, names the flag and
    exits 2 instead of an internal error."""
    from fmtui.tui.cli.detach import start_detached

    (tmp_path / "file").write_text("")
    done = cli("train", "--detach", "--preset", preset_file(tmp_path), "--data-dir", tiny_data,
               "--runs-dir", tmp_path / "file" / "runs")
    assert done.returncode == 2 and "--runs-dir" in done.stderr and "internal error" not in done.stderr
    runs = public_dir / "runs"
    runs.mkdir()
    readable_by_all(public_dir)
    kind, message = as_nobody(lambda: start_detached(["train"], runs))
    assert kind == RecordError.__name__ and "--runs-dir" in message and "ermission denied" in message
    assert list(runs.iterdir()) == []


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_a_detached_run_leaves_no_announcement_behind(tmp_path, tiny_data, runs_dir):
    """After a detached run has finished, nothing of the handshake with the command that started it is left
    in the runs directory (its .detached-*.json used to reappear at the run's end)."""
    done = cli("train", "--detach", "--preset", preset_file(tmp_path, epochs=2, batch_size=10),
               "--data-dir", tiny_data, "--runs-dir", runs_dir)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    pid = int((run_dir / "run.lock").read_text().split()[0])
    try:
        wait_for(lambda: _gone(pid), timeout=120)
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    assert [p.name for p in runs_dir.iterdir()] == [run_dir.name] and (run_dir / "train.log").is_file()


# --- batch sizes a model cannot train with ------------------------------------------------------------

def test_batch_size_one_is_refused_for_a_model_with_batchnorm(tmp_path, tiny_data, runs_dir):
    """--batch-size 1 with the resnet preset (BatchNorm, bf16, channels-last) is refused naming the flag,
    before any record is begun, instead of a native crash that leaves the record running. A model without
    BatchNorm trains on single images, and the loop never makes a last batch of one (it drops it)."""
    done = cli("train", "--preset", "resnet", "--batch-size", 1, "--epochs", 1, "--set", "train_subset=20",
               "--set", "val_size=50", "--device", "cpu", "--data-dir", tiny_data, "--runs-dir", runs_dir)
    assert done.returncode == 2 and "--batch-size 1" in done.stderr and "BatchNorm" in done.stderr
    assert "Traceback" not in done.stderr and not (runs_dir.exists() and any(runs_dir.iterdir()))
    import torch

    from fmtui.core.data.splits import Split, batches
    from fmtui.core.models import build_model, check_batch_size

    check_batch_size(build_model(replace(CONFIG, model="linear")), 1)
    split = Split(torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.zeros(10, dtype=torch.long))
    assert [len(y) for _, y in batches(split, 3, generator=torch.Generator(), drop_last=True)] == [3, 3, 3]


# --- what an attached monitor shows ---------------------------------------------------------------------

def attachable(tmp_path: Path, events: list) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    RunRecord(run_dir).write_config(CONFIG)
    (run_dir / EVENTS_NAME).write_text(log_lines(events))
    return run_dir


@pytest.mark.parametrize("moment", ["testing", "paused"])
@drive
async def test_attaching_shows_the_epoch_the_run_is_at(tmp_path, moment):
    """Attached while the run tests its best weights, or while it is paused at its third epoch, the progress
    line shows epoch 3, not "epoch 1/3 … batch 0/16"."""
    from fmtui.tui.monitor.widgets.progress import RunProgress

    if moment == "testing":
        events = [e for e in run_script(CONFIG, epochs_done=3, batches=16) if hasattr(e, "kind")]
        events.append(ev.TestStarted(3, 10_000))
        expected = (3, 3, 16)
    else:  # no batch progress of the third epoch was logged before the pause
        events = [e for e in run_script(CONFIG, epochs_done=2, batches=16) if hasattr(e, "kind")]
        events.append(Paused(3, 5))
        expected = (3, 2, 4)
    run_dir = attachable(tmp_path, events)
    with RunLock(run_dir):
        app = make_app(attach=run_dir)
        async with app.run_test(size=SIZE) as pilot:
            progress = app.query_one(RunProgress)
            await until(pilot, lambda: (progress.epoch, progress.epochs_done, progress.batch) == expected, timeout=10)
            assert progress.epochs == 3 and progress.batches == 16
            await pilot.press("q")


def test_attaching_while_a_resume_loads_its_data_waits_for_its_log(tmp_path):
    """The previous attempt's log (ending stopped) is not shown as this run's while a resume holds the lock
    and loads its data: the watcher waits for the resume's own log and follows it to its end."""
    from fmtui.tui.monitor.remote import AttachedTrainer

    earlier = [e if not isinstance(e, RunFinished) else replace(e, status="stopped")
               for e in run_script(CONFIG, epochs_done=1, hold=False) if hasattr(e, "kind")]
    assert isinstance(earlier[-1], RunFinished)
    run_dir = attachable(tmp_path, earlier)
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(run_dir / EVENTS_NAME, ns=(an_hour_ago, an_hour_ago))
    seen: list = []
    with RunLock(run_dir):  # the resume: it holds the lock from before its data loads
        watcher = AttachedTrainer(run_dir, poll=0.02, grace=0.2)
        watcher.subscribe(seen.append)
        watcher.start()
        try:
            time.sleep(0.6)
            assert seen == [] and watcher.running, "the earlier attempt's log was shown as this run's"
            log = EventLog()
            started = replace(earlier[0], run_dir=str(run_dir), first_epoch=2)
            log(started)
            log(Paused(2, 1))
            wait_for(lambda: Paused(2, 1) in seen, timeout=5)
            log(RunFinished("finished", 3, 3, 0.8, 0.8, 0.3, 30.0, str(run_dir)))
            outcome = watcher.wait(timeout=5)
        finally:
            watcher.detach()
    assert seen[0].to_dict() == started.to_dict() and isinstance(outcome, RunFinished) and outcome.status == "finished"
    assert not any(isinstance(e, EpochEnded) for e in seen), "nothing of the earlier attempt's log"


def test_the_attached_monitor_shows_the_run_s_cpu_not_its_own(tmp_path, spawned):
    """The CPU figure of an attached run is its training process's (found from the run's lock), not the
    idle monitor's own."""
    from fmtui.tui.monitor.machine import MachineSampler

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    busy = ("import sys, time; from pathlib import Path; from fmtui.core.records.lock import RunLock\n"
            "RunLock(Path(sys.argv[1])).acquire(); print('locked', flush=True)\n"
            "end = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n")
    child = subprocess.Popen([sys.executable, "-c", busy, str(run_dir)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    spawned.append(child)
    assert child.stdout.readline().strip() == "locked" and is_live(run_dir)
    sampler = MachineSampler("cpu (2 threads)", str(run_dir))
    assert sampler.pid == child.pid
    time.sleep(1.5)  # this process sleeps: a figure of note can only be the child's
    text = sampler.sample()
    assert text.startswith("CPU ") and int(text[4:-1]) >= 10, text
    child.kill()
