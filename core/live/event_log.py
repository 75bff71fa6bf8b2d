"""A run seen from other processes: its event log.

    <run>/events.jsonl   the run's events as JSON lines (0600), appended by the training process on its
                         event-bus thread: everything in full except batch progress, which is written
                         about once a second. A viewer (`fmtui attach`) replays it from the start, then
                         follows it as it grows, as a log viewer follows a file (``EventTail``).

Whether a run is live comes from its lock (fmtui.core.records.lock.is_live), never from the log.

The log is made afresh for each attempt of a run (a resume too) under a temporary name and renamed
into place: a name someone planted (a link to another file) is replaced, never written through or
truncated. What is read back is data from a file: a line that is not an event of this fmtui, or whose
fields are not of their types, is skipped and counted (``EventTail.skipped``), never handed on.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from fmtui.core.engine.event_reading import event_from_dict
from fmtui.core.engine.events import BatchEnded, Event, RunFailed, RunFinished, RunStarted
from fmtui.core.records.files import create_private, open_private

EVENTS_NAME = "events.jsonl"
BATCH_INTERVAL = 1.0  # seconds between two batch-progress lines in the log: it stays small, viewers stay current
# The longest line a reader takes: a test split's Evaluated is about 120 kB; a longer one is not fmtui's.
MAX_LINE = 16 * 2**20
READ_CHUNK = 64 * 2**20  # read at most this much per look: a huge log is taken in several


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
        """A new, empty log renamed over the old one (whatever it was: a file, a link someone planted)."""
        self._close()
        fd, tmp = create_private(path)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        self._fd = fd  # O_APPEND is not needed: only this descriptor writes, always at its end

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class EventTail:
    """Reads a growing event log: keeps its offset, hands back only complete lines (a half-written last
    line waits for its end), and starts over when the log is replaced (a resume begins a new one).

    ``read()`` raises FileNotFoundError when there is no log (yet, or any more), and OSError when the
    name holds something other than a plain file (a link, a FIFO). ``modified_ns`` is the log's mtime
    at the last read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.skipped = 0  # lines that were not an event this fmtui knows, or did not fit its fields
        self.modified_ns: int | None = None
        self._partial = b""
        self._discarding = False  # inside a line longer than MAX_LINE: dropped up to its end
        self._inode: tuple[int, int] | None = None

    @property
    def identity(self) -> tuple[int, int] | None:
        """The (device, inode) of the log last read: another one is another log (a resume's)."""
        return self._inode

    def read(self) -> list[Event]:
        fd = open_private(self.path, os.O_RDONLY)
        with open(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if (info.st_dev, info.st_ino) != self._inode or info.st_size < self.offset:
                self._inode, self.offset, self._partial = (info.st_dev, info.st_ino), 0, b""
                self._discarding = False
            self.modified_ns = info.st_mtime_ns
            file.seek(self.offset)
            data = file.read(READ_CHUNK)
        self.offset += len(data)
        buffer = self._partial + data
        if self._discarding:  # the rest of an overlong line is dropped up to its end
            end = buffer.find(b"\n")
            if end < 0:
                self._partial = b""
                return []
            buffer, self._discarding = buffer[end + 1:], False
        *lines, self._partial = buffer.split(b"\n")
        if len(self._partial) > MAX_LINE:
            self._partial, self._discarding = b"", True
            self.skipped += 1
        events = []
        for line in lines:
            if len(line) > MAX_LINE:
                event = None
            else:
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
