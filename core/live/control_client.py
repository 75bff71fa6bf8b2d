"""The client end of a run's control socket: `fmtui pause|resume|stop` and the attached monitor.

It checks who serves the socket (the peer's uid) before sending, sends only after the server's
greeting, and keeps one deadline for the whole exchange, so a request reported as failed was never
sent, and one that timed out after sending says so.
"""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

from fmtui.core.errors import FmtuiError
from fmtui.core.live.control_socket import (
    BUSY,
    COMMANDS,
    GREETING,
    MAX_LINE,
    SOCKET_NAME,
    Address,
    ControlError,
    peer_uid,
)
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import is_live, lock_holder
from fmtui.core.records.run_dir import RunRecord


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
    """Send ``command`` to the live run in ``run_dir`` within ``timeout`` seconds, all told; its answer
    ("ok", "paused", "unchanged: WHY"), or ControlError saying why not, and whether the request was sent."""
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
    deadline = time.monotonic() + timeout
    greeted = True
    while True:
        answer = _exchange(run_dir, command, deadline, timeout, greeted)
        if answer is _OLD_SERVER:  # an fmtui from before greetings serves this run: ask it its way
            greeted = False
            continue
        if answer == BUSY and time.monotonic() < deadline - 0.1:
            time.sleep(0.1)  # its other clients are each done within REQUEST_SECONDS
            continue
        break
    if answer.startswith("error:"):
        raise ControlError(f"{run_dir}: {answer[len('error:'):].strip()}.")
    if not answer:
        raise ControlError(f"{run_dir} closed the connection without answering (it may be ending).")
    if answer not in ("ok", "paused") and not answer.startswith("unchanged:"):
        raise ControlError(f"{run_dir}: its control socket answered {answer[:60]!r}, which fmtui never says; "
                           f"the {command} request may or may not have been carried out.")
    return answer


_OLD_SERVER = "\0old"


def _exchange(run_dir: Path, command: str, deadline: float, timeout: float, greeted: bool) -> str:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sent = False
    reader = _Lines(sock, deadline)
    try:
        with Address(run_dir) as address:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.connect(address)
        _check_server(sock, run_dir)
        if greeted:
            first = reader.line()
            if first is None:  # closed without a word: an older server that waited for the request first
                return _OLD_SERVER
            if first != GREETING:
                return first  # "error: ...": refused (another user, busy) before anything was asked
            if time.monotonic() >= deadline:
                raise TimeoutError
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(command.encode() + b"\n")
        sent = True
        answer = reader.line()
        if answer == GREETING and not greeted:  # a new server after all: its answer follows the greeting
            answer = reader.line()
    except PermissionError:
        raise ControlError(f"permission denied: {run_dir} belongs to another user.") from None
    except (ConnectionRefusedError, FileNotFoundError):
        require_live(run_dir)  # the usual reason: the process is gone
        raise ControlError(f"{run_dir} is live but does not answer on its control socket; nothing was sent.") from None
    except TimeoutError:
        if sent:
            raise ControlError(f"{run_dir}: the {command} request was sent but not confirmed within {timeout:g} "
                               f"seconds; it may still take effect (`fmtui runs` shows the run's state).") from None
        raise ControlError(f"{run_dir} did not answer within {timeout:g} seconds; nothing was sent.") from None
    except OSError as exc:
        what = "the request may have been received" if sent else "nothing was sent"
        raise ControlError(f"cannot reach {run_dir}: {exc.strerror or exc} ({what}).") from None
    finally:
        sock.close()
    return answer or ""


class _Lines:
    """Lines from a socket, each read by one shared deadline; None at the end of the stream."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def line(self) -> str | None:
        while b"\n" not in self.buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(MAX_LINE)
            if not chunk:
                if not self.buffer:
                    return None
                break
            self.buffer += chunk
            if len(self.buffer) > 4 * MAX_LINE:
                break  # not an fmtui answer; what there is stands for it
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").strip()


def _check_server(sock: socket.socket, run_dir: Path) -> None:
    """ControlError unless the process serving the socket is this user's (or root's): a socket planted
    in the run directory by someone else is not the run, and must hear nothing from us."""
    uid = peer_uid(sock)
    if uid is None:
        return
    trusted = {os.getuid(), 0}
    if os.getuid() == 0:  # root steering a user's run: that user's process serves it
        try:
            trusted.add(os.stat(run_dir).st_uid)
        except OSError:
            pass
    if uid not in trusted:
        raise ControlError(f"{run_dir / SOCKET_NAME} is served by a process of another user (uid {uid}), not by "
                           f"this run: nothing was sent. Someone who can write {run_dir} may have put it there.")
