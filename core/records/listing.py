"""Runs as people list them: the status a record shows (corrected by its lock: running, killed), its
summary, and every run under a runs directory.
"""


from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from fmtui.core.errors import RecordError
from fmtui.core.records.lock import is_live
from fmtui.core.records.run_dir import RunRecord


def effective_status(summary: dict[str, Any], run_dir: Path) -> str:
    """The recorded status, corrected by the run's lock: a run whose lock is held is running whatever its
    summary says (a resume loading its data), and a 'running' run whose lock is free was killed. A
    record written on another machine says so rather than guess (its lock may not be visible here)."""
    status = summary.get("status", "unknown")
    live = is_live(run_dir)
    if live:
        return "running"
    if status != "running" or live is None:
        return status
    host = summary.get("host")
    if isinstance(host, str) and host and host != socket.gethostname():
        return f"running on {host}"
    return "killed"


def current_summary(record: RunRecord) -> dict[str, Any]:
    """A run's summary with its effective status (running, killed, ...); RecordError if unreadable."""
    summary = record.read_summary()
    return {**summary, "status": effective_status(summary, record.path)}


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
    return sorted((RunRecord(p) for p in runs_dir.iterdir() if (p / "summary.json").is_file()),
                  key=lambda r: r.run_id)


def open_run(path: Path) -> RunRecord:
    """A run directory named by a person; the error says what is wrong with it."""
    record = RunRecord(Path(path))
    if not record.path.is_dir():
        raise RecordError(f"{path}: no such run directory.")
    if not record.summary_path.is_file():
        raise RecordError(f"{path}: not an fmtui run directory (it has no summary.json).")
    return record


# --- checkpoints ---------------------------------------------------------------------------------
