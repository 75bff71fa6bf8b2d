"""A run's lock (run.lock, held with flock by the process writing the run for as long as it lives) and
what it tells: whether a run is live, and which process holds it.
"""


from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from fmtui.core.errors import RecordError

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
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
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
                holder = _holder(fd)
                raise RecordError(f"{self.path.parent} is being written by another fmtui process{holder}; "
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


def _holder(fd: int) -> str:
    try:
        pid, _, host = os.pread(fd, 200, 0).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        return ""
    return f" (process {pid} on {host})" if pid.isascii() and pid.isdecimal() and host else ""


def lock_holder(run_dir: Path) -> str:
    """" (process PID on HOST)" as the lock's last holder wrote it, for messages; empty if unknown."""
    try:
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return _holder(fd)
    finally:
        os.close(fd)


def is_live(run_dir: Path) -> bool | None:
    """Whether a process holds the run's lock now: True or False, None where it cannot be told (no
    flock on this system, or the lock file cannot be opened). A run with no lock file has no writer."""
    if fcntl is None:
        return None
    try:
        fd = os.open(Path(run_dir) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
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
