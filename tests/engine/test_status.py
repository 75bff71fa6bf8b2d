"""One RunStatus for every reader and writer of a run's status, one Summary for summary.json, one list of
predictions.csv's columns: the places that use them agree."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from fmtui.core.engine.event_reading import event_from_dict
from fmtui.core.engine.events import RunFinished, StopRequested
from fmtui.core.engine.trainer import Trainer
from fmtui.core.errors import RecordError
from fmtui.core.records.run_dir import PREDICTION_FIELDS, RunRecord
from fmtui.core.records.status import RECORDED, RunStatus
from fmtui.core.records.summary import SUMMARY_FIELDS
from fmtui.tui.cli import app, exits
from fmtui.tui.monitor.widgets.status import STATE_STYLES
from fmtui.tui.render import format as fmt
from tests.support import make_dataset, run_trainer
from tests.support.record_fakes import CONFIG, good_summary, write_record


def test_every_final_status_has_one_exit_code_or_says_which_one_it_takes():
    """A run that can end with a status exits with its code, or by its signal, or by its error; exactly one."""
    for status in RunStatus:
        ways = [status in exits.BY_STATUS, status in exits.SIGNALLED, status in exits.BY_ERROR]
        assert sum(ways) == (1 if status.final else 0), status
    assert exits.BY_STATUS[RunStatus.DIVERGED] == exits.DIVERGED and exits.BY_STATUS[RunStatus.FINISHED] == exits.OK


@pytest.mark.parametrize("status", [s for s in RunStatus if s.final and s is not RunStatus.FAILED])
def test_a_run_finished_event_carries_each_way_a_run_ends_through_json(status):
    """Every status RunFinished can report survives `--json` and the event log's reader as that status."""
    event = RunFinished(status, 2, 1, 0.8, None, None, 1.5, "runs/x")
    read = event_from_dict(json.loads(json.dumps(event.to_dict())))
    assert read == event and read.status is status


@pytest.mark.parametrize("reason", [RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.PRUNED])
def test_each_way_to_stop_a_trainer_is_announced_as_that_status(tiny_config, reason):
    """`stop(reason)` with each reason a face uses (as the enum or its text) announces a StopRequested that
    reads back through JSON as the same status; a reason that is no status is refused."""
    trainer = Trainer(tiny_config)
    seen = []
    trainer.subscribe(seen.append)
    assert trainer.stop(str(reason)) and not trainer.stop(reason)
    trainer.wait()
    (event,) = seen
    assert isinstance(event, StopRequested) and event.reason is reason
    assert event_from_dict(json.loads(json.dumps(event.to_dict()))).reason is reason
    with pytest.raises(ValueError):
        Trainer(tiny_config).stop("paused")


def test_summary_json_holds_every_recorded_status_and_never_killed(tmp_path):
    """Each recorded status reads back as itself; 'killed' (shown, never written) is refused, naming the file and
    the statuses it may hold."""
    for status in RunStatus:
        record = write_record(tmp_path / status, status=str(status))
        if status.recorded:
            assert record.read_summary().status is status
        else:
            with pytest.raises(RecordError, match=rf"summary\.json is unreadable: 'status' .* expected one of "
                                                  rf"{', '.join(RECORDED)}\."):
                record.read_summary()


def test_the_summary_written_is_the_summary_read(tmp_path):
    """RunRecord writes a Summary as JSON with exactly its fields, and reads back an equal one."""
    record = write_record(tmp_path / "run")
    summary = record.read_summary()
    assert json.loads(record.summary_path.read_text()) == good_summary(record, CONFIG)
    changed = summary.ended(RunStatus.STOPPED, 0.5, 0.7, seconds=2.0)
    record.write_summary(changed)
    assert record.read_summary() == changed and changed.duration_seconds == summary.duration_seconds + 2.0
    assert set(json.loads(record.summary_path.read_text())) == set(SUMMARY_FIELDS)


def test_every_status_is_coloured_in_both_faces():
    """`fmtui runs` colours every status a record can show; the monitor's status line has a badge for every
    way a run ends."""
    assert set(RunStatus) <= set(fmt.STATUS_STYLE)
    assert {s for s in RunStatus if s.final} <= set(STATE_STYLES)
    assert fmt.status_text("running on elsewhere").style == fmt.STATUS_STYLE[RunStatus.RUNNING]


def test_eval_lists_its_mistakes_with_the_columns_of_predictions_csv(tiny_config, tmp_path, runs_dir):
    """`fmtui eval --errors N --json` names each mistake with predictions.csv's fields and the same values."""
    noise = make_dataset(tmp_path / "noise", random_labels=True)  # a model of it makes plenty of mistakes
    outcome, _ = run_trainer(replace(tiny_config, epochs=1), noise, runs_dir)
    record = RunRecord(outcome.run_dir)
    with record.predictions_path.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == PREDICTION_FIELDS
    shown = CliRunner().invoke(app, ["eval", str(record.path), "--data-dir", str(noise), "--errors", "5",
                                     "--json"])
    assert shown.exit_code == 0, shown.output
    mistakes = json.loads(shown.stdout)["errors"]
    assert len(mistakes) == 5
    for mistake in mistakes:
        assert tuple(mistake) == PREDICTION_FIELDS
        row = rows[mistake["index"]]
        assert {k: str(v) for k, v in mistake.items() if k != "confidence"} == \
            {k: v for k, v in row.items() if k != "confidence"}
        assert mistake["confidence"] == pytest.approx(float(row["confidence"]), abs=1e-4)
