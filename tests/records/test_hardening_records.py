"""Hardening, records: wrong-shaped records, the run lock, and the files fmtui trains on."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.engine.resume import resume_config
from fmtui.core.errors import FmtuiError, RecordError
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import RunLock, is_live
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.records.schema import HISTORY_FIELDS
from fmtui.core.records.summary import ADDED_LATER, SUMMARY_FIELDS
from fmtui.tui.cli.commands.compare import compare_command
from fmtui.tui.cli.commands.runs import list_runs_command
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.screens.past_runs import PastRuns, describe
from fmtui.tui.monitor.widgets.compare import CompareView
from tests.monitor.test_tui import SIZE, Factory
from tests.support import until
from tests.support.monitor_fakes import drive
from tests.support.record_fakes import good_summary, history_row, write_record

# One value of each JSON type, and the ones fmtui writes in each field (the rest must be refused).
SAMPLES = [None, True, 7, 0.5, "text", [1], {"a": 1}]
TEXT, COUNT, NUMBER, MAYBE_NUMBER = ["text"], [7], [7, 0.5], [None, 7, 0.5]
VALID = {"run_id": TEXT, "preset": TEXT, "model": TEXT, "status": [], "epochs": COUNT, "epochs_planned": COUNT,
         "best_epoch": [None, 7], "best_val_accuracy": MAYBE_NUMBER, "best_val_loss": MAYBE_NUMBER,
         "test_accuracy": MAYBE_NUMBER, "test_loss": MAYBE_NUMBER, "started_at": TEXT, "ended_at": [None, "text"],
         "duration_seconds": NUMBER, "device": TEXT, "parameters": COUNT, "seed": COUNT, "pid": COUNT, "host": TEXT,
         "error": [None, "text"], "data_dir": [None, "text"]}
VALID_ROW = {field: NUMBER for field in HISTORY_FIELDS} | {"epoch": []}  # epochs run 1, 2, ...: row 1 is epoch 1


def _valid(value, allowed) -> bool:
    return any(type(value) is type(a) and value == a for a in allowed)


def test_the_tables_cover_every_field_fmtui_writes():
    """The variants below replace every field of the summary and of a metrics row."""
    assert set(VALID) == set(SUMMARY_FIELDS) and set(VALID_ROW) == set(HISTORY_FIELDS)


def _summary_variants():
    for field in VALID:
        for value in SAMPLES:
            yield field, value
        yield field, "missing"


def test_wrong_shaped_summaries_are_unreadable_everywhere_and_never_crash(tmp_path, capsys):
    """Each summary field replaced by each JSON type (or removed): `runs`, `compare`, `--resume` and the
    monitor's past-runs list report the run as unreadable, naming summary.json, or show it; nothing else.
    A field added since the first records may be missing: it reads as what an older record stands for."""
    good = write_record(tmp_path / "good" / "run")
    for n, (field, value) in enumerate(_summary_variants()):
        runs = tmp_path / f"variant{n}"
        record = RunRecord(runs / "run")
        summary = good_summary(record)
        if value == "missing":
            del summary[field]
        else:
            summary[field] = value
        write_record(record.path, summary)
        record.state_path.write_bytes(b"")  # resume_config only asks that it exists
        older = value == "missing" and field in ADDED_LATER
        refused = not older and (value == "missing" or not _valid(value, VALID[field]))
        cells = describe(record)
        if refused:
            with pytest.raises(RecordError, match=rf"summary\.json is unreadable: .*'{field}'"):
                record.read_summary()
            for action in (lambda: list_runs_command(runs), lambda: compare_command([record.path, good.path]),
                           lambda: resume_config(record)):
                with pytest.raises(RecordError, match=r"summary\.json is unreadable"):
                    action()
            assert str(cells[2]) == "unreadable", (field, value)
        else:
            assert getattr(record.read_summary(), field) == (ADDED_LATER[field] if older else value)
            assert list_runs_command(runs) == 0 and compare_command([record.path, good.path]) == 0
            assert str(cells[2]) != "unreadable", (field, value)
    assert "unreadable" in capsys.readouterr().out
    for value in SAMPLES[:-1]:  # not an object at all
        (good.path / "summary.json").write_text(json.dumps(value))
        with pytest.raises(RecordError, match="summary.json is unreadable: it holds"):
            good.read_summary()


def test_wrong_shaped_metrics_rows_are_unreadable_and_name_the_file(tmp_path):
    """Each metrics-row field replaced by each JSON type (or removed), and rows that are not objects:
    `compare`, the monitor's replay of a resumed run and `read_history` all name metrics.jsonl."""
    good = write_record(tmp_path / "good")
    variants = [(field, value) for field in VALID_ROW for value in [*SAMPLES, "missing"]]
    for n, (field, value) in enumerate(variants):
        row = history_row(1)
        if value == "missing":
            del row[field]
        else:
            row[field] = value
        record = write_record(tmp_path / f"v{n}", history=[row, history_row(2)])
        if value != "missing" and _valid(value, VALID_ROW[field]):
            assert record.read_history()[0][field] == value
            continue
        for action in (record.read_history, lambda: record.replay_epochs(3, before=3, best_by="loss"),
                       lambda: compare_command([record.path, good.path])):
            with pytest.raises(RecordError, match=r"metrics\.jsonl.* is unreadable"):
                action()
    for value in SAMPLES:
        if not isinstance(value, dict):
            record = write_record(tmp_path / f"row-{value!r}", history=[value])
            with pytest.raises(RecordError, match=r"metrics\.jsonl \(line 1\) is unreadable"):
                record.read_history()


def test_wrong_shaped_checkpoints_and_states_are_refused_naming_the_file(tiny_config, tiny_data, tmp_path):
    """A checkpoint whose config, epoch or weights have another type, and a training state missing
    what a resume reads, are RecordErrors naming the file (`fmtui eval`, `--resume`: exit 2)."""
    from tests.support import run_trainer

    outcome, _ = run_trainer(replace(tiny_config, epochs=1), tiny_data, tmp_path / "runs")
    record = RunRecord(outcome.run_dir)
    best, state = torch.load(record.best_path), torch.load(record.state_path)
    for key, values in (("config", [[1], "x", 7, None]), ("epoch", ["x", 1.5, None, [1]]),
                        ("model", [[1], {"w": "x"}, "x"])):
        for value in values:
            torch.save({**best, key: value}, tmp_path / "bad.pt")
            with pytest.raises(RecordError, match="bad.pt is (unreadable|not an fmtui checkpoint)"):
                load_checkpoint(tmp_path / "bad.pt")
    for key, value in (("progress", []), ("generator", [1]), ("optimizer", "x"),
                       ("progress", {**state["progress"], "history": [{"epoch": 1}]})):
        torch.save({**state, key: value}, record.state_path)
        with pytest.raises(RecordError, match="last.pt"):
            record.load_state()

    from typer.testing import CliRunner

    from fmtui.tui.cli import app

    torch.save({**best, "config": [1]}, tmp_path / "bad.pt")
    shown = CliRunner().invoke(app, ["eval", str(tmp_path / "bad.pt"), "--data-dir", str(tiny_data)])
    assert shown.exit_code == 2 and "bad.pt is unreadable" in shown.stderr and "Traceback" not in shown.output
    record.summary_path.write_text("[]")
    resumed = CliRunner().invoke(app, ["train", "--resume", str(record.path), "--data-dir", str(tiny_data)])
    assert resumed.exit_code == 2 and "summary.json is unreadable" in resumed.stderr


@drive
async def test_the_monitor_lists_damaged_runs_as_unreadable_and_keeps_running(tmp_path):
    """In a runs directory named with brackets, r lists a damaged run as unreadable; choosing it, or a
    run whose metrics are damaged, explains why in a notice, and the monitor carries on."""
    runs = tmp_path / "[/x] runs"
    write_record(runs / "1-good", preset="[bold]p")
    write_record(runs / "2-no-summary", summary=[])
    write_record(runs / "3-bad-metrics", history=[{"epoch": 1}])
    app = make_app(runs_dir=runs, trainer_factory=Factory())
    notices: list[str] = []
    notify = app.notify
    app.notify = lambda message, **options: (notices.append(message), notify(message, **options))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")  # the preset menu opens first
        for row, expected in ((1, "summary.json is unreadable"), (0, "metrics.jsonl (line 1) is unreadable")):
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, PastRuns))
            assert f"Past runs in {runs}" in str(app.screen.query_one("#where").render())
            table = app.screen.query_one("DataTable")
            assert [str(c) for c in table.get_row_at(1)][2] == "unreadable"
            table.move_cursor(row=row)
            await pilot.press("enter")
            await until(pilot, lambda: any(expected in notice for notice in notices))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        app.screen.query_one("DataTable").move_cursor(row=2)  # the good one, oldest: shown literally
        await pilot.press("c")
        await until(pilot, lambda: "[bold]p" in [str(c) for c in app.query_one(CompareView).table.get_row_at(0)])
        assert app.is_running


def _hold_lock_forever(run_dir: str) -> None:
    RunLock(Path(run_dir)).acquire()
    signal.pause()


def test_the_run_lock_says_who_is_live_and_dies_with_its_process(tmp_path):
    """A run whose lock is held is running (whatever its summary says) and cannot be resumed; when its
    process is killed the OS frees the lock: the run shows as killed and resumes. A PID that happens to
    be alive (PID 1, in a container) proves nothing."""
    record = write_record(tmp_path / "run", status="running", pid=1)
    record.state_path.write_bytes(b"")
    summary = record.read_summary()
    assert is_live(record.path) is False and effective_status(summary, record.path) == "killed"
    resume_config(record)
    # Forked before anything here has used torch's thread pool, as in test_faults.
    child = multiprocessing.get_context("fork").Process(target=_hold_lock_forever, args=(str(record.path),))
    child.start()
    try:
        for _ in range(200):
            if is_live(record.path):
                break
            child.join(0.01)
        assert is_live(record.path) and effective_status(summary, record.path) == "running"
        with pytest.raises(RecordError, match=f"being trained by another fmtui process \\(process {child.pid} "):
            resume_config(record)
        with pytest.raises(RecordError, match="being written by another fmtui process"):
            RunLock(record.path).acquire()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert is_live(record.path) is False and effective_status(summary, record.path) == "killed"
    assert oct((record.path / "run.lock").stat().st_mode & 0o777) == "0o600"
    with RunLock(record.path) as lock:
        assert lock.held and is_live(record.path)
    elsewhere = replace(summary, host="another-machine")
    assert effective_status(elsewhere, record.path) == "running on another-machine"


def test_processed_torch_files_do_not_replace_the_checked_raw_files(tiny_data, tmp_path):
    """A FashionMNIST/processed/*.pt beside the raw files (torchvision's cache) is ignored: fmtui trains
    on exactly the IDX files it checked."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    processed = data / "FashionMNIST" / "processed"
    processed.mkdir()
    planted = torch.zeros(500, 28, 28, dtype=torch.uint8), torch.zeros(500, dtype=torch.long)
    torch.save(planted, processed / "training.pt")
    torch.save(planted, processed / "test.pt")
    loaded = load_fashion_mnist(data, download=False)
    honest = load_fashion_mnist(tiny_data, download=False)
    assert len(loaded.train_labels) == 400 and len(loaded.test_labels) == 100
    assert torch.equal(loaded.train_images, honest.train_images)
    assert torch.equal(loaded.test_labels, honest.test_labels) and loaded.test_labels.dtype == torch.long


def test_a_list_of_runs_with_one_unreadable_names_it_and_exits_2(tmp_path, capsys):
    """`fmtui runs` still lists the readable runs, marks the other unreadable, and names its file."""
    from typer.testing import CliRunner

    from fmtui.tui.cli import app

    write_record(tmp_path / "runs" / "a")
    write_record(tmp_path / "runs" / "b", summary={"status": "finished"})
    result = CliRunner().invoke(app, ["runs", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "finished" in result.stdout and "unreadable" in result.stdout
    assert f"{tmp_path / 'runs' / 'b' / 'summary.json'} is unreadable: it lacks the field" in result.stderr
    assert isinstance(RecordError("x"), FmtuiError)
