"""A run steered from other processes: its control socket, both ends.

    <run>/control.sock   a Unix socket (0600) served by threads of the training process. The server
                         greets each client ("fmtui-control 1"), the client sends one line ("pause",
                         "resume", "stop", "ping"), the server answers one line: "ok" (done), "paused"
                         (ping), "unchanged: WHY" (the run already was as asked) or "error: WHY".

It lives in the run directory, on this machine and for this user only: no network port. Whether a run
is live comes from its lock (fmtui.core.records.lock.is_live), never from the socket or a PID. Both ends
check who is at the other (SO_PEERCRED): a socket someone else planted in the run directory is not
the run, and a peer of another user is not its owner.

A request takes effect only once the server has greeted its client and read the whole line within
REQUEST_SECONDS; a client sends it only after the greeting, and before its own deadline. So a client
that gives up before sending has changed nothing, and one that gives up after sending says the request
was sent but not confirmed. Each client is served on a thread of its own, a few at once: a slow one
holds up no other.

AF_UNIX addresses are limited to about 107 bytes, and a run directory may be deeper than that; such a
socket is bound and reached through /proc/self/fd/N/control.sock, N a descriptor of the directory.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fmtui.core.errors import FmtuiError

SOCKET_NAME = "control.sock"
COMMANDS = ("pause", "resume", "stop", "ping")
GREETING = "fmtui-control 1"
REQUEST_SECONDS = 2.0  # from the greeting to the end of the request line: the whole request, not each read
MAX_CLIENTS = 8  # served at once; one more is told the run is busy (and its client tries again)
MAX_LINE = 256  # bytes of a request or an answer
_MAX_ADDRESS = 100  # bytes of a socket path that bind() takes everywhere (sun_path is 104 to 108)
BUSY = "error: busy answering other clients: nothing was done; try again"


class ControlError(FmtuiError):
    """A live run cannot be reached or refused the request; the message says why."""


# --- the server, in the training process ------------------------------------------------------------

class Address:
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


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket; None where the system cannot tell."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


class ControlServer:
    """Serves ``<run>/control.sock``: each request calls a handler from ``handlers``, whose result is the
    answer (a string as it is; False: "unchanged"; anything else: "ok"). ``trainer_handlers`` makes
    handlers that say what they did.

    The socket is made 0600 (created under a umask, then chmodded), and a peer whose uid is neither
    ours nor root's is refused even so (SO_PEERCRED), in case the file was made reachable. An accepting
    thread hands each client to a thread of its own, at most MAX_CLIENTS at once."""

    def __init__(self, run_dir: Path, handlers: dict[str, Callable[[], object]]) -> None:
        self.run_dir = Path(run_dir)
        self.handlers = handlers
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

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
            with Address(self.run_dir) as address:
                previous = os.umask(0o177)  # process-wide for an instant: files made now are only stricter
                try:
                    sock.bind(address)
                finally:
                    os.umask(previous)
            info = os.lstat(self.path)  # chmod follows links: only the socket we bound is changed
            if stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) != 0o600:
                os.chmod(self.path, 0o600)
            sock.listen(MAX_CLIENTS)
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
            if not self._slots.acquire(blocking=False):
                _refuse(conn, BUSY)
                continue
            try:
                threading.Thread(target=self._client, args=(conn,), name="fmtui-control-client", daemon=True).start()
            except RuntimeError:  # no thread to be had: the client is told, not left waiting
                self._slots.release()
                _refuse(conn, BUSY)

    def _client(self, conn: socket.socket) -> None:
        try:
            with conn:
                answer = self._answer(conn)
                if answer is not None:
                    conn.settimeout(REQUEST_SECONDS)
                    conn.sendall(answer.encode()[:MAX_LINE] + b"\n")
        except OSError:
            pass  # the client left; whatever it asked was done or not, as its answer would have said
        finally:
            self._slots.release()

    def _answer(self, conn: socket.socket) -> str | None:
        """The answer to the client's request, or None when there is none to give (it left)."""
        uid = peer_uid(conn)
        if uid is not None and uid not in (os.getuid(), 0):
            return "error: this run belongs to another user"
        conn.settimeout(REQUEST_SECONDS)
        conn.sendall(GREETING.encode() + b"\n")
        deadline = time.monotonic() + REQUEST_SECONDS
        request = b""
        while b"\n" not in request:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"error: the request did not arrive within {REQUEST_SECONDS:g} seconds; nothing was done"
            conn.settimeout(remaining)
            try:
                chunk = conn.recv(MAX_LINE)
            except TimeoutError:
                continue
            if not chunk:
                return None  # gone before its request was whole: nothing is done
            request += chunk
            if len(request) > MAX_LINE and b"\n" not in request:
                return "error: the request is too long; nothing was done"
        command = request.split(b"\n")[0].decode("ascii", "replace").strip()
        handler = self.handlers.get(command)
        if handler is None:
            return f"error: unknown request {command[:20]!r}; known: {', '.join(self.handlers)}"
        try:
            answer = handler()
        except Exception as exc:  # a bug behind one request must not end the server for the others
            return f"error: {command} failed in the run: {type(exc).__name__}: {exc}"
        if isinstance(answer, str):
            return answer
        return "unchanged: there was nothing to do" if answer is False else "ok"


def _refuse(conn: socket.socket, answer: str) -> None:
    with conn:
        try:
            conn.setblocking(False)  # the accepting thread never waits on a client
            conn.send(answer.encode() + b"\n")
        except OSError:
            pass


def trainer_handlers(trainer: Any) -> dict[str, Callable[[], object]]:
    """The socket's requests for a trainer in this process (fmtui.core.engine.trainer.Trainer), each
    answering what it did. The trainer's pause(), resume() and stop() say whether they changed anything
    (False: nothing; None, from a trainer that does not say, is taken as done)."""

    def pause() -> str:
        if trainer.pause() is not False:
            return "ok"
        if trainer.paused:
            return "unchanged: it is already paused"
        return ("error: not paused: it is stopping or past its last training batch (testing its best weights), "
                "and a run pauses only between training batches")

    def resume() -> str:
        return "ok" if trainer.resume() is not False else "unchanged: it was not paused"

    def stop() -> str:
        return "ok" if trainer.stop("stopped") is not False else "unchanged: it is already stopping or finishing"

    return {"pause": pause, "resume": resume, "stop": stop, "ping": lambda: "paused" if trainer.paused else "ok"}


# --- for viewers and scripts -----------------------------------------------------------------------
