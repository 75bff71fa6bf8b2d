"""A run's event log and control socket come from the faces that attach them, not from every trainer."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from fmtui.core.engine.events import EpochEnded, RunStarted
from fmtui.core.live.control_client import send
from fmtui.core.live.control_socket import SOCKET_NAME
from fmtui.core.live.event_log import EVENTS_NAME
from fmtui.core.live.serve import serve
from fmtui.core.records.listing import current_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.records.status import RunStatus
from tests.layout.test_layout import MODULES, _imports
from tests.monitor.test_tui_real import preset_file
from tests.support import run_trainer

ROOT = Path(__file__).resolve().parents[2]


def test_a_trainer_with_nothing_attached_writes_no_event_log_and_serves_no_socket(tiny_config, tiny_data, runs_dir):
    """A trainer as a benchmark or a headless sweep's trial makes it leaves only its record behind."""
    outcome, _ = run_trainer(tiny_config, tiny_data, runs_dir)
    assert outcome.status == RunStatus.FINISHED
    names = {p.name for p in outcome.run_dir.iterdir()}
    assert "summary.json" in names and EVENTS_NAME not in names and SOCKET_NAME not in names


def test_a_served_trainer_logs_its_events_and_answers_on_its_socket_while_it_runs(tiny_config, tiny_data, runs_dir):
    """Served, the run answers `ping` while it trains, its log ends with run_finished, and the socket is gone
    once the record is final."""
    from fmtui.core.engine.trainer import Trainer

    trainer = serve(Trainer(replace(tiny_config, epochs=10_000), data_dir=tiny_data, runs_dir=runs_dir))
    answers: list[str] = []

    def follow(event) -> None:
        if isinstance(event, RunStarted):
            answers.append(event.run_dir)
        elif isinstance(event, EpochEnded) and event.epoch == 1:
            answers.append(send(Path(answers[0]), "ping"))
            trainer.stop()

    trainer.subscribe(follow)
    trainer.start()
    outcome = trainer.wait(timeout=120)
    assert outcome.status == RunStatus.STOPPED and answers == [str(outcome.run_dir), "ok"]
    lines = (outcome.run_dir / EVENTS_NAME).read_text().splitlines()
    assert json.loads(lines[0])["event"] == "run_started" and json.loads(lines[-1])["event"] == "run_finished"
    assert not (outcome.run_dir / SOCKET_NAME).exists()


def test_a_plain_fmtui_train_can_be_stopped_from_another_process(tmp_path, tiny_data, runs_dir, spawned):
    """`fmtui train` without --detach (its output piped) serves its socket too: `fmtui stop` ends it as stopped,
    tested, with its log complete."""
    preset = preset_file(tmp_path, epochs=10_000, batch_size=10)
    process = subprocess.Popen([sys.executable, "-m", "fmtui", "train", "--preset", preset, "--data-dir",
                                str(tiny_data), "--runs-dir", str(runs_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    spawned.append(process)
    for line in process.stderr:
        if line.startswith("epoch "):
            break
    (run_dir,) = runs_dir.iterdir()
    stopped = subprocess.run([sys.executable, "-m", "fmtui", "stop", str(run_dir)], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = current_summary(RunRecord(run_dir))
    assert summary["status"] == RunStatus.STOPPED and summary["test_accuracy"] is not None
    assert json.loads((run_dir / EVENTS_NAME).read_text().splitlines()[-1])["event"] == "run_finished"


def test_the_engine_never_imports_the_live_room():
    """Arrows point down: fmtui.core.live builds on the engine, and nothing in fmtui.core.engine imports it."""
    upward = {name: sorted(t for t in _imports(name, path) if t.startswith("fmtui.core.live"))
              for name, path in MODULES.items() if name.startswith("fmtui.core.engine")}
    assert {k: v for k, v in upward.items() if v} == {}
