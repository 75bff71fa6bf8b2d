"""A run's lock (run.lock, held with flock by the process writing the run for as long as it lives) and
what it tells: whether a run is live, and which process holds it.
"""


from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

from fmtui.core.errors import RecordError
from fmtui.core.records.files import NOFOLLOW, NONBLOCK, PRIVATE_FILE, open_private

try:
    import fcntl
except ImportError:  # Windows: no flock; liveness cannot be told there (is_live answers None)
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "run.lock"


class RunLock:
    """The right to write one run directory, held by the process training it for as long as it runs.

    An flock on ``<run>/run.lock``. The operating system drops it when the process ends, however it
    ends (SIGKILL, a crash, a container stopped), so a lock that cannot be taken means a live writer
    and one that can means none: no PID to outlive its process or to be reused (a container's PID 1
    is alive to every process that asks). Holders write "PID HOST" into the file, for people.

        with RunLock(run_dir):        # RecordError at once if another process holds it
            ...write the record...
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        try:
            # Never through a link (someone who can write the directory could point it at a file of ours,
            # which the holder's "PID HOST" would overwrite), and never a FIFO or device.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW | NONBLOCK, PRIVATE_FILE)
        except OSError as exc:
            raise RecordError(f"cannot lock {self.path}: {exc.strerror or exc}.") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                os.close(fd)
                raise RecordError(f"cannot lock {self.path}: it is not a plain file fmtui made (a link, a FIFO "
                                  f"or a device); remove it.")
            os.fchmod(fd, PRIVATE_FILE)  # one made by an older fmtui, or under another umask
        except OSError as exc:
            os.close(fd)
            raise RecordError(f"cannot lock {self.path}: {exc.strerror or exc}.") from None
        try:
            # is_live() probes with a shared lock for a few microseconds: retry briefly rather than
            # take a probe for a writer.
            for _ in range(40):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(0.025)
            else:
                who = _holder(fd)
                raise RecordError(f"{self.path.parent} is being written by another fmtui process{who}; "
                                  f"wait for it to end, or stop it first.")
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        except OSError as exc:
            os.close(fd)
            raise RecordError(f"cannot lock {self.path}: {exc.strerror or exc}.") from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_holder(fd: int) -> tuple[int, str] | None:
    try:
        pid, _, host = os.pread(fd, 200, 0).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        return None
    return (int(pid), host) if pid.isascii() and pid.isdecimal() and host else None


def _holder(fd: int) -> str:
    found = _read_holder(fd)
    return f" (process {found[0]} on {found[1]})" if found else ""


def _open_lock(run_dir: Path) -> int:
    return open_private(Path(run_dir) / LOCK_NAME, os.O_RDONLY)


def lock_holder(run_dir: Path) -> str:
    """" (process PID on HOST)" as the lock's last holder wrote it, for messages; empty if unknown."""
    found = holder(run_dir)
    return f" (process {found[0]} on {found[1]})" if found else ""


def holder(run_dir: Path) -> tuple[int, str] | None:
    """(PID, HOST) as the lock's last holder wrote them; None if unknown. The process may be gone since:
    ask ``is_live`` whether one holds it now."""
    try:
        fd = _open_lock(run_dir)
    except OSError:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


def locked_at(run_dir: Path) -> int | None:
    """When the lock was last taken (its file's mtime, in ns: each holder writes itself into it), or None.
    A file in the run directory last written before this was written by an earlier holder."""
    try:
        info = os.stat(Path(run_dir) / LOCK_NAME, follow_symlinks=False)
    except OSError:
        return None
    return info.st_mtime_ns if stat.S_ISREG(info.st_mode) else None


def is_live(run_dir: Path) -> bool | None:
    """Whether a process holds the run's lock now: True or False, None where it cannot be told (no
    flock on this system, or the lock file cannot be opened). A run with no lock file has no writer."""
    if fcntl is None:
        return None
    try:
        fd = _open_lock(run_dir)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the probe's shared lock
