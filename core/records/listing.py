"""Runs as people list them: the status a record shows (corrected by its lock: running, killed), its
summary, and every run under a runs directory.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from fmtui.core.errors import RecordError
from fmtui.core.records.files import may_hold
from fmtui.core.records.lock import is_live
from fmtui.core.records.run_dir import RunRecord
from fmtui.core.records.status import RunStatus
from fmtui.core.records.summary import Summary


def effective_status(summary: Summary, run_dir: Path) -> RunStatus | str:
    """The recorded status, corrected by the run's lock: a run whose lock is held is running whatever its
    summary says (a resume loading its data), and a 'running' run whose lock is free was killed. A
    record written on another machine says so ("running on HOST") rather than guess: its lock may not
    be visible here."""
    live = is_live(run_dir)
    if live:
        return RunStatus.RUNNING
    if summary.status != RunStatus.RUNNING or live is None:
        return summary.status
    if summary.host and summary.host != socket.gethostname():
        return f"running on {summary.host}"
    return RunStatus.KILLED


def current_summary(record: RunRecord) -> dict[str, Any]:
    """A run's summary as it is listed: its fields, with its effective status (running, killed, ...);
    RecordError if unreadable."""
    summary = record.read_summary()
    return {**summary.to_json(), "status": effective_status(summary, record.path)}


def run_summary(record: RunRecord) -> dict[str, Any]:
    """As current_summary, but an unreadable record is listed as such: status 'unreadable', with why."""
    try:
        return current_summary(record)
    except RecordError as exc:
        return {"status": "unreadable", "error": str(exc)}


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Run directories under ``runs_dir`` (those holding a summary.json), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RecordError(f"the runs directory {runs_dir} does not exist; pass the one your runs went to "
                          f"with --runs-dir.")
    try:
        entries = list(runs_dir.iterdir())
    except OSError as exc:
        raise RecordError(f"the runs directory {runs_dir} cannot be read: {exc.strerror or exc}.") from None
    # A directory this user may not enter is listed too: reading it then says it is unreadable, and why.
    return sorted((RunRecord(p) for p in entries if may_hold(p / "summary.json")), key=lambda r: r.run_id)


def open_run(path: Path) -> RunRecord:
    """A run directory named by a person; the error says what is wrong with it."""
    record = RunRecord(Path(path))
    if not record.path.is_dir():
        raise RecordError(f"{path}: no such run directory.")
    if not may_hold(record.summary_path):
        raise RecordError(f"{path}: not an fmtui run directory (it has no summary.json).")
    return record


def data_dir_for(run_dir: Path, given: Path | None) -> Path:
    """Where to read the images of the run in ``run_dir``: ``given`` (--data-dir) when there is one, else
    the directory its summary records (while it still holds the data), else the default."""
    from fmtui.core.data.fashion_mnist import default_data_dir, raw_dir  # late: torch loads with them

    if given is not None:
        return given
    try:
        recorded = RunRecord(run_dir).read_summary().data_dir
    except RecordError:
        recorded = None  # an unreadable record names no data; the default may still hold it
    if recorded is not None and raw_dir(Path(recorded)).is_dir():
        return Path(recorded)
    return default_data_dir()
