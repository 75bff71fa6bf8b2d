"""A run seen from other processes: its event log.

    <run>/events.jsonl   the run's events as JSON lines (0600), appended by the training process on its
                         event-bus thread: everything in full except batch progress, which is written
                         about once a second. A viewer (`fmtui attach`) replays it from the start, then
                         follows it as it grows, as a log viewer follows a file (``EventTail``).

Whether a run is live comes from its lock (fmtui.core.records.lock.is_live), never from the log.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from fmtui.core.engine.events import BatchEnded, Event, RunFailed, RunFinished, RunStarted, event_from_dict

EVENTS_NAME = "events.jsonl"
BATCH_INTERVAL = 1.0  # seconds between two batch-progress lines in the log: it stays small, viewers stay current
class EventLog:
    """A subscriber that appends the run's events to ``<run>/events.jsonl``.

    Opened (afresh, for a resumed run too: its RunStarted says from which epoch, and the record holds
    the epochs before) when RunStarted names the run directory. A log that cannot be written is
    abandoned quietly: it is for viewers, and the record stays complete without it.
    """

    def __init__(self, batch_interval: float = BATCH_INTERVAL) -> None:
        self.batch_interval = batch_interval
        self.done = threading.Event()  # the final event is written (or never will be)
        self.error: OSError | None = None
        self._fd: int | None = None
        self._last_batch = float("-inf")

    def __call__(self, event: Event) -> None:
        final = isinstance(event, (RunFinished, RunFailed))
        try:
            if isinstance(event, RunStarted):
                self._open(Path(event.run_dir) / EVENTS_NAME)
            if self._fd is not None and self._wanted(event):
                os.write(self._fd, (json.dumps(event.to_dict(), separators=(",", ":")) + "\n").encode())
        except OSError as exc:
            self.error = exc
            self._close()
        if final:
            self._close()
            self.done.set()

    def _wanted(self, event: Event) -> bool:
        if event.local:  # the images themselves (DataLoaded): a viewer reads them from the data, not the log
            return False
        if not isinstance(event, BatchEnded):
            return True
        now = time.monotonic()
        if event.batch == event.batches or now - self._last_batch >= self.batch_interval:
            self._last_batch = now
            return True
        return False

    def _open(self, path: Path) -> None:
        self._close()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)  # an older log may have been made with other permissions
        self._fd = fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class EventTail:
    """Reads a growing event log: keeps its offset, hands back only complete lines (a half-written last
    line waits for its end), and starts over when the log is replaced (a resume begins a new one).

    ``read()`` raises FileNotFoundError when there is no log (yet, or any more)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.skipped = 0  # lines that were not an event this fmtui knows
        self._partial = b""
        self._inode: tuple[int, int] | None = None

    def read(self) -> list[Event]:
        with open(self.path, "rb") as file:
            info = os.fstat(file.fileno())
            if (info.st_dev, info.st_ino) != self._inode or info.st_size < self.offset:
                self._inode, self.offset, self._partial = (info.st_dev, info.st_ino), 0, b""
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        events = []
        for line in lines:
            try:
                event = event_from_dict(json.loads(line))
            except (ValueError, RecursionError):
                event = None
            if event is None:
                self.skipped += line.strip() != b""
            else:
                events.append(event)
        return events


# --- the control socket ----------------------------------------------------------------------------
