"""Hardening, processes: signals at any moment, outputs that go away, full disks and racing resumes,
through the real CLI in other processes. Each ends with 128+N, 141 or 2 and a whole record.

Most runs are forked from a fork server that has imported fmtui and torch but never run a torch op
(OpenMP is not fork-safe once used), so each starts in milliseconds instead of seconds.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fmtui.core.engine.events import EpochEnded, RunFinished, StopRequested
from fmtui.core.engine.resume import resume_config
from fmtui.core.engine.trainer import Trainer
from fmtui.core.records import files
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import is_live
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli.signals import Interrupts
from tests.support import make_dataset, run_trainer, tiny_preset

ROOT = Path(__file__).resolve().parents[2]
PRESET = tiny_preset("tiny run for hardening tests")
INT, TERM, HUP = signal.SIGINT, signal.SIGTERM, signal.SIGHUP


def _cli_child(argv: list[str], log: str, stdout: str | None = None, file_size: int | None = None) -> None:
    """In a forked child: `fmtui ARGV` with stdout and stderr to ``log`` (stdout to ``stdout`` if given),
    files limited to ``file_size`` bytes as `ulimit -f` would; main() ends the process."""
    import resource

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.dup2(os.open(stdout, os.O_WRONLY) if stdout else fd, 1)
    os.close(fd)
    if file_size is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    sys.argv = ["fmtui", *argv]
    from fmtui.tui.cli import main

    main()


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fmtui.tui.cli", "fmtui.tui.cli.commands.train", "fmtui.core.engine.trainer",
                                    __name__])
    return context


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(PRESET)
    return path


def _start(forkserver, argv: list, log: Path, wait: bool = True, **options):
    """`fmtui ARGV` in a forked child, returned once it is in main() (its log exists) if ``wait``."""
    # A daemon: should a test fail before it ends the child, the autouse fixture (or pytest's exit) kills it.
    child = forkserver.Process(target=_cli_child, args=([str(a) for a in argv], str(log)), kwargs=options,
                               daemon=True)
    child.start()
    deadline = time.monotonic() + 30
    while wait and not log.exists():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.005)
    return child


def _whole(runs: Path, status: str = "interrupted") -> RunRecord | None:
    """The record under ``runs`` (None if the run ended before it began one) is whole: every file parses,
    metrics, last.pt and best.pt agree with the summary, no temporary file, no live lock."""
    if not runs.exists() or not any(runs.iterdir()):
        return None
    (run_dir,) = runs.iterdir()
    record = RunRecord(run_dir)
    summary = record.read_summary()
    assert summary.status == status, summary
    assert not list(run_dir.glob(".*.tmp")) and is_live(run_dir) is False
    assert len(record.read_history()) == summary.epochs
    assert record.state_path.exists() == bool(summary.epochs)
    if summary.epochs:
        assert record.load_state()["progress"]["epoch"] == summary.epochs
        assert load_checkpoint(run_dir).epoch == summary.best_epoch
    return record


def test_a_second_signal_while_the_first_is_acted_on_waits_its_turn_instead_of_deadlocking():
    """The first signal's action holds a lock (as Event.set holds its Condition's) when the second arrives:
    the second is acted on once the first is done, never on top of it on the same thread."""
    lock, order = threading.Lock(), []

    def stop(signum: int) -> None:
        with lock:
            os.kill(os.getpid(), INT)
            time.sleep(0.3)  # the second signal arrives meanwhile
            order.append("stop")

    def hurry() -> bool:
        if not lock.acquire(timeout=3):  # on the same thread as stop, this could never succeed
            order.append("deadlock")
            return False
        lock.release()
        order.append("hurry")
        return False

    with Interrupts(stop=stop, hurry=hurry) as interrupts:
        os.kill(os.getpid(), INT)
        deadline = time.monotonic() + 10
        while len(order) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert order == ["stop", "hurry"] and interrupts.code == 130
    assert threading.current_thread() is threading.main_thread()


def test_signals_other_than_int_term_hup_keep_their_default_action(preset, tiny_data, tmp_path, spawned):
    """SIGUSR1 ends `fmtui train` at once, as the docs say (like SIGKILL): the record is left as its last
    complete epoch left it, shown as killed and resumable."""
    runs = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, "-m", "fmtui", "train", "--preset", str(preset), "--data-dir",
                                str(tiny_data), "--runs-dir", str(runs), "--epochs", "10000"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spawned.append(process)
    deadline = time.monotonic() + 60
    while not any(runs.glob("*/last.pt")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGUSR1)
    assert process.wait(30) == -signal.SIGUSR1
    (run_dir,) = runs.iterdir()
    assert effective_status(RunRecord(run_dir).read_summary(), run_dir) == "killed"
    resume_config(RunRecord(run_dir))


def test_two_signals_at_random_moments_exit_128_plus_n_with_a_whole_record(forkserver, preset, tiny_data,
                                                                           tmp_path):
    """Eight signal pairs (Ctrl-C twice, INT then TERM, a HUP while shutting down) at random moments,
    from data loading to mid-epoch: never an abort, exit 128+N of a signal sent (130 for two Ctrl-Cs),
    and a whole, resumable record or none at all."""
    rng = random.Random(14)
    pairs = [(INT, INT), (INT, TERM), (TERM, HUP), (HUP, INT), (TERM, TERM), (INT, INT), (INT, HUP), (TERM, INT)]
    for i, (first, second) in enumerate(pairs):
        runs, log = tmp_path / f"runs{i}", tmp_path / f"log{i}"
        child = _start(forkserver, ["train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", runs,
                                    "--epochs", 10_000], log)
        time.sleep(rng.uniform(0.02, 0.7))
        os.kill(child.pid, first)
        time.sleep(rng.choice([0.0, rng.uniform(0.0, 0.05)]))
        try:
            os.kill(child.pid, second)
        except ProcessLookupError:
            pass  # it had already ended (the fork server reaps its children at once)
        child.join(60)
        text = log.read_text()
        assert child.exitcode in (128 + first, 128 + second), (first, second, child.exitcode, text)
        assert first != second or child.exitcode == 128 + first
        assert "Traceback" not in text and "terminate called" not in text, text
        record = _whole(runs)
        if record is not None and record.read_summary().epochs:
            resume_config(record)


def test_a_double_ctrl_c_in_a_real_process_with_stderr_closed_exits_130(preset, tiny_data, tmp_path):
    """The same through `python -m fmtui` started with `2>&-`: the closed stderr is taken as /dev/null
    (it trains), and two Ctrl-Cs end it with 130 and a whole record, interpreter start included."""
    runs = tmp_path / "runs"
    process = subprocess.Popen(["bash", "-c", 'exec "$@" 2>&-', "-", sys.executable, "-m", "fmtui", "train",
                                "--preset", str(preset), "--data-dir", str(tiny_data), "--runs-dir", str(runs),
                                "--epochs", "10000"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(runs.glob("*/last.pt")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.02)
        process.send_signal(INT)
        process.send_signal(INT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out
    assert _whole(runs).read_summary().epochs >= 1


def test_an_output_that_closes_or_fills_up_ends_the_run_with_its_record_whole(forkserver, preset, tiny_data,
                                                                               tmp_path):
    """`--json | head -1`: interrupted, exit 141, no traceback, and its log says the output closed (nobody pressed
    Ctrl-C, so it does not offer a second one). `> /dev/full`: failed, exit 2, said. A disk
    that fills up (`ulimit -f 80`): exit 2, the summary agreeing with the files present."""
    train = ["train", "--preset", preset, "--data-dir", tiny_data, "--json"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    piped = _start(forkserver, [*train, "--runs-dir", tmp_path / "piped", "--epochs", 10_000], tmp_path / "piped.log",
                   wait=False, stdout=str(fifo))
    with open(fifo) as reader:  # opening waits for the child to open its end
        assert reader.readline().startswith('{"event": "run_started"')
    # closed after one line, as `head -1` does
    filled = _start(forkserver, [*train, "--runs-dir", tmp_path / "full", "--epochs", 10_000], tmp_path / "full.log",
                    stdout="/dev/full")
    small = _start(forkserver, [*train, "--runs-dir", tmp_path / "small", "--epochs", 3], tmp_path / "small.log",
                   stdout=os.devnull, file_size=80 * 1024)

    piped.join(60)
    log = (tmp_path / "piped.log").read_text()
    assert piped.exitcode == 141 and "Traceback" not in log, log
    assert "Standard output closed: saving the run" in log and "Ctrl-C" not in log, log
    _whole(tmp_path / "piped")

    filled.join(60)
    log = (tmp_path / "full.log").read_text()
    assert filled.exitcode == 2 and "Traceback" not in log, log
    assert "cannot write to standard output: No space left on device" in log
    assert "No space left on device" in _whole(tmp_path / "full", "failed").read_summary().error

    small.join(60)
    log = (tmp_path / "small.log").read_text()
    assert small.exitcode == 2 and "Traceback" not in log, log
    assert "cannot write" in log and "last.pt: File too large" in log
    assert _whole(tmp_path / "small", "failed").read_summary().epochs == 0


def test_a_full_disk_mid_run_leaves_the_record_as_the_last_epoch_left_it(tiny_config, tiny_data, tmp_path,
                                                                         monkeypatch):
    """last.pt fails to write at epoch 3 (after best.pt and the metrics of that epoch were written): the
    run fails with a RecordError, and summary, metrics, best.pt and last.pt all still say epoch 2."""
    stage, writes = files._stage, []

    def failing_stage(path, write):
        if path.name == "last.pt":
            writes.append(path)
            if len(writes) == 3:
                def fill_up(f):
                    write(f)
                    raise OSError(errno.ENOSPC, "No space left on device")
                return stage(path, fill_up)
        return stage(path, write)

    monkeypatch.setattr(files, "_stage", failing_stage)
    outcome, _ = run_trainer(replace(tiny_config, epochs=5), tiny_data, tmp_path / "runs")
    assert outcome.status == "failed" and outcome.user_error
    assert "last.pt: No space left on device" in outcome.error
    record = _whole(tmp_path / "runs", "failed")
    assert record.read_summary().epochs == 2 and record.read_summary().error == outcome.error


def test_a_signal_during_the_final_test_ends_the_run_interrupted_and_untested(forkserver, tmp_path):
    """Log, status and exit code agree: interrupted, 130, no test accuracy or confusion matrix; resuming
    the run then only runs the test and finishes."""
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=150)
    preset = tmp_path / "cnn.toml"
    preset.write_text(PRESET.replace('"linear"', '"tinyvgg"').replace("val_size = 50", "val_size = 20"))
    runs, log = tmp_path / "runs", tmp_path / "log"
    child = _start(forkserver, ["train", "--preset", preset, "--data-dir", data, "--runs-dir", runs, "--epochs", 1],
                   log)
    deadline = time.monotonic() + 60
    while "testing the best weights" not in log.read_text():
        assert time.monotonic() < deadline and child.is_alive(), log.read_text()
        time.sleep(0.01)
    os.kill(child.pid, INT)
    child.join(60)
    text = log.read_text()
    assert child.exitcode == 130 and "interrupted: test accuracy not evaluated, 1 epoch" in text, text
    record = _whole(runs)
    assert record.read_summary().test_accuracy is None and not record.confusion_path.exists()
    outcome, events = run_trainer(resume_config(record), data, tmp_path / "unused", resume=record)
    assert outcome.status == "finished" and outcome.test_accuracy is not None
    assert not [e for e in events if isinstance(e, EpochEnded)] and record.confusion_path.exists()


def test_a_stop_while_the_data_loads_records_nothing(tiny_config, tiny_data, tmp_path, monkeypatch):
    """Interrupted before its record was begun, a run leaves no directory, and its events are a stop
    request and a run_finished without a run directory (no run_started after the stop)."""
    import fmtui.core.engine.trainer

    load = fmtui.core.engine.trainer.load_fashion_mnist

    def slow_load(data_dir):
        trainer.stop("interrupted")  # arrives while the data loads
        return load(data_dir)

    monkeypatch.setattr(fmtui.core.engine.trainer, "load_fashion_mnist", slow_load)
    trainer = Trainer(tiny_config, data_dir=tiny_data, runs_dir=tmp_path / "runs")
    events = []
    trainer.subscribe(events.append)
    trainer.start()
    outcome = trainer.wait(60)
    assert outcome.status == "interrupted" and outcome.run_dir is None
    assert [type(e) for e in events] == [StopRequested, RunFinished] and events[1].run_dir is None
    assert not (tmp_path / "runs").exists()


def test_two_resumes_of_one_run_at_once_one_is_refused(forkserver, preset, tiny_data, tmp_path):
    """Both resumes start together: exactly one trains, the other is refused with exit 2 before its data
    loads, naming the process that holds the run; the record stays whole."""
    runs = tmp_path / "runs"
    first = _start(forkserver, ["train", "--preset", preset, "--data-dir", tiny_data, "--runs-dir", runs,
                                "--epochs", 10_000], tmp_path / "first")
    while not any(runs.glob("*/last.pt")):
        time.sleep(0.02)
    os.kill(first.pid, INT)
    first.join(60)
    (run_dir,) = runs.iterdir()
    both = [_start(forkserver, ["train", "--resume", run_dir, "--data-dir", tiny_data], tmp_path / f"resume{i}")
            for i in range(2)]
    deadline = time.monotonic() + 60
    while sum(child.is_alive() for child in both) > 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    (running,) = [child for child in both if child.is_alive()]
    for child in both:
        if child is running:
            os.kill(child.pid, INT)
        child.join(60)
    refused = [child for child in both if child is not running][0]
    text = (tmp_path / f"resume{both.index(refused)}").read_text()
    assert refused.exitcode == 2, text
    assert "is being trained by another fmtui process" in text or "is being written by another fmtui process" in text
    assert running.exitcode == 130
    _whole(runs)
