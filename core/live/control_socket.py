"""A run steered from other processes: its control socket, both ends.

    <run>/control.sock   a Unix socket (0600) served by a thread of the training process: one line in
                         ("pause", "resume", "stop", "ping"), one line back ("ok" or "error: ...").

It lives in the run directory, on this machine and for this user only: no network port. Whether a run
is live comes from its lock (fmtui.core.records.lock.is_live), never from the socket or a PID.

AF_UNIX addresses are limited to about 107 bytes, and a run directory may be deeper than that; such a
socket is bound and reached through /proc/self/fd/N/control.sock, N a descriptor of the directory.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from fmtui.core.errors import FmtuiError
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import is_live, lock_holder
from fmtui.core.records.run_dir import RunRecord

SOCKET_NAME = "control.sock"
COMMANDS = ("pause", "resume", "stop", "ping")
_MAX_ADDRESS = 100  # bytes of a socket path that bind() takes everywhere (sun_path is 104 to 108)


class ControlError(FmtuiError):
    """A live run cannot be reached or refused the request; the message says why."""


# --- the event log ---------------------------------------------------------------------------------

class _Address:
    """A socket path short enough for AF_UNIX: the path itself, or one through a directory descriptor."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / SOCKET_NAME
        self._fd: int | None = None
        if len(os.fsencode(self.path)) <= _MAX_ADDRESS:
            self.address = str(self.path)
        else:  # Linux: the directory through a descriptor (elsewhere bind/connect then fail with OSError)
            flags = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC
            self._fd = os.open(run_dir, flags)
            self.address = f"/proc/self/fd/{self._fd}/{SOCKET_NAME}"

    def __enter__(self) -> str:
        return self.address

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ControlServer:
    """Serves ``<run>/control.sock`` on a daemon thread: each request calls a handler from ``handlers``.

    The socket is made 0600 (created under a umask, then chmodded), and a peer whose uid is neither
    ours nor root's is refused even so (SO_PEERCRED), in case the file was made reachable."""

    def __init__(self, run_dir: Path, handlers: dict[str, Callable[[], object]]) -> None:
        self.run_dir = Path(run_dir)
        self.handlers = handlers
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.run_dir / SOCKET_NAME

    def start(self) -> None:
        """OSError where a socket cannot be made here (no AF_UNIX, a file system without sockets)."""
        if not hasattr(socket, "AF_UNIX"):
            raise OSError("this system has no Unix sockets")
        self.path.unlink(missing_ok=True)  # left by a killed process; we hold the run's lock
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with _Address(self.run_dir) as address:
                previous = os.umask(0o177)  # process-wide for an instant: files made now are only stricter
                try:
                    sock.bind(address)
                finally:
                    os.umask(previous)
            os.chmod(self.path, 0o600)
            sock.listen(8)
            sock.settimeout(0.25)  # how often the thread looks whether it should end
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="fmtui-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(2.0)  # a client that says nothing cannot hold the others up for long
                    conn.sendall(self._answer(conn).encode() + b"\n")
                except OSError:
                    pass

    def _answer(self, conn: socket.socket) -> str:
        if hasattr(socket, "SO_PEERCRED"):
            _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                             struct.calcsize("3i")))
            if uid not in (os.getuid(), 0):
                return "error: this run belongs to another user"
        request = b""
        while b"\n" not in request and len(request) < 64:
            chunk = conn.recv(64)
            if not chunk:
                break
            request += chunk
        command = request.split(b"\n")[0].decode("ascii", "replace").strip()
        handler = self.handlers.get(command)
        if handler is None:
            return f"error: unknown request {command[:20]!r}; known: {', '.join(self.handlers)}"
        answer = handler()
        return answer if isinstance(answer, str) else "ok"


# --- for viewers and scripts -----------------------------------------------------------------------

def live_state(run_dir: Path) -> str:
    """The run's effective status as fmtui.core.records tells it: "running" for a live run."""
    record = RunRecord(run_dir)
    try:
        return effective_status(record.read_summary(), record.path)
    except FmtuiError:
        return "running" if is_live(record.path) else "unreadable"


def require_live(run_dir: Path) -> None:
    """ControlError unless a process on this machine is training ``run_dir`` now."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ControlError(f"{run_dir}: no such run directory.")
    status = live_state(run_dir)
    if status == "running":
        return
    if status.startswith("running on "):
        raise ControlError(f"{run_dir} was started on {status[len('running on '):]}; it can be controlled only "
                           f"there (its lock is not visible from this machine).")
    if status == "killed":
        raise ControlError(f"{run_dir} is not live: its process is gone without finishing (status killed); "
                           f"continue it with `fmtui train --resume {run_dir}`.")
    raise ControlError(f"{run_dir} is not live (status {status}).")


def send(run_dir: Path, command: str, timeout: float = 5.0) -> str:
    """Send ``command`` to the live run in ``run_dir``; its answer ("ok"), or ControlError saying why not."""
    if command not in COMMANDS:
        raise ControlError(f"unknown request {command!r}; known: {', '.join(COMMANDS)}.")
    run_dir = Path(run_dir)
    path = run_dir / SOCKET_NAME
    try:
        info = os.stat(path)
    except FileNotFoundError:
        require_live(run_dir)
        raise ControlError(f"{run_dir} is live{lock_holder(run_dir)} but has no control socket (it was started "
                           f"by an fmtui without one, or is still loading its data); try again shortly.") from None
    except PermissionError:
        raise ControlError(f"permission denied: {run_dir} belongs to another user.") from None
    except OSError as exc:
        raise ControlError(f"cannot reach {path}: {exc.strerror or exc}.") from None
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlError(f"{path} is not a socket; it was not made by fmtui.")
    if not hasattr(socket, "AF_UNIX"):
        raise ControlError("this system has no Unix sockets: a run can be steered only from its own monitor.")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with _Address(run_dir) as address:
            sock.connect(address)
        sock.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(256)
            if not chunk:
                break
            reply += chunk
    except PermissionError:
        raise ControlError(f"permission denied: {run_dir} belongs to another user.") from None
    except (ConnectionRefusedError, FileNotFoundError):
        require_live(run_dir)  # the usual reason: the process is gone
        raise ControlError(f"{run_dir} is live but does not answer on its control socket.") from None
    except TimeoutError:
        raise ControlError(f"{run_dir} did not answer within {timeout:g} seconds.") from None
    except OSError as exc:
        raise ControlError(f"cannot reach {run_dir}: {exc.strerror or exc}.") from None
    finally:
        sock.close()
    answer = reply.decode("utf-8", "replace").strip()
    if answer.startswith("error:"):
        raise ControlError(f"{run_dir}: {answer[len('error:'):].strip()}.")
    if not answer:
        raise ControlError(f"{run_dir} closed the connection without answering (it may be ending).")
    return answer
