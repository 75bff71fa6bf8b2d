"""A run's record as the trainer keeps it: its directory and lock, and its summary as last written.

The record moves through the same few states whatever happens to the run: begun (a new directory, or
the resumed one marked running again), one epoch more (its files as one change), ended, or failed.
Each is one method here, so summary.json is changed in no other place.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.engine.evaluation import TestResult
from fmtui.core.engine.resume import check_matches, snapshot
from fmtui.core.engine.session import Session
from fmtui.core.errors import FmtuiError
from fmtui.core.models import count_parameters
from fmtui.core.records.lock import RunLock
from fmtui.core.records.run_dir import RunRecord, new_summary
from fmtui.core.records.status import RunStatus
from fmtui.core.records.summary import Summary


class Recorder:
    """The record of one run of ``config``: a new one under ``runs_dir``, or ``resume``'s.

    The lock is taken before the data loads (a resume: a second resume of the same run stops at once)
    or as the directory is made (a new run), and ``release`` gives it up once the record is final."""

    def __init__(self, config: TrainConfig, runs_dir: Path, resume: RunRecord | None) -> None:
        self.config, self.runs_dir, self.resume = config, Path(runs_dir), resume
        self.record: RunRecord | None = None  # once begun
        self.summary: Summary | None = None  # as last written
        self._lock: RunLock | None = None

    def load_state(self) -> dict[str, Any] | None:
        """The resumed run's training state (last.pt), locked and checked against the config; None for a
        new run."""
        if self.resume is None:
            return None
        self._lock = RunLock(self.resume.path)
        self._lock.acquire()
        state = self.resume.load_state()
        check_matches(state, self.config, self.resume)
        return state

    def begin(self, session: Session, data_dir: Path | None) -> RunRecord:
        """Open the record: a new directory (locked from its creation), or the resumed one (locked since
        before its data loaded) marked running again; ``data_dir``: where the data was read from."""
        device = str(session.device)
        source = str(data_dir) if data_dir is not None else None
        if self.resume is not None:
            record = self.resume
            record.remove_stale_temporaries()  # safe: we hold the lock, so no one else is writing them
            summary = record.read_summary().resumed(device, source)
            record.write_summary(summary)
            self.record, self.summary = record, summary
            return record
        started = datetime.now().astimezone()
        record = RunRecord.create(self.runs_dir, self.config.preset, started)
        self._lock = RunLock(record.path)
        try:
            self._lock.acquire()
            summary = new_summary(record, self.config, started, device, count_parameters(session.model), source)
            record.write_config(self.config)
            record.write_summary(summary)
        except BaseException:
            # Not yet a record (no summary): leave no empty directory behind.
            self._lock.release()
            shutil.rmtree(record.path, ignore_errors=True)
            raise
        self.record, self.summary = record, summary
        return record

    def epoch(self, session: Session, best: dict[str, Any] | None) -> None:
        """The epoch just completed, with the new best checkpoint if it is one, as one change on disk: a
        full disk leaves the record as the previous epoch left it."""
        assert self.record is not None and self.summary is not None
        summary = session.summarised(self.summary)
        self.record.write_epoch(session.progress.history, snapshot(session), summary, best)
        self.summary = summary

    def end(self, session: Session, status: RunStatus, test: TestResult | None, seconds: float) -> Summary:
        """The final summary, after ``seconds`` more in this process, with the test split's results."""
        assert self.record is not None and self.summary is not None
        tested = test.evaluation if test else None
        summary = session.summarised(self.summary).ended(status, tested.accuracy if tested else None,
                                                         tested.loss if tested else None, seconds)
        self.record.write_outcome(summary, tested, test.report.confusion if test else None, CLASS_NAMES)
        self.summary = summary
        return summary

    def fail(self, message: str) -> None:
        """Mark the record (if begun) failed with ``message``, as far as the disk allows."""
        if self.record is None:
            return
        try:
            self.record.write_summary(self.record.read_summary().failed(message))
        except FmtuiError:
            pass  # the failure being reported may be this very disk; the event still carries it

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
