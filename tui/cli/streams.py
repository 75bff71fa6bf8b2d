"""The terminal streams of the headless commands: text printed literally, and a stream that goes
away handled once.

A stream may be closed before fmtui starts (`2>&-`), close mid-run (`fmtui train --json | head -1`)
or fill up (`> /dev/full`). Closed at the start, it is treated as /dev/null: the person asked for no
output there. Closing later ends the run as SIGPIPE would (interrupted, exit 141); filling up is a
failure of the environment (exit 2). Never a traceback per event.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable
from typing import IO, Any

from rich.console import Console

# The reader is gone (a closed pipe, a hung-up terminal): the run ends as if SIGPIPE had interrupted it.
# Any other error (a full disk, a file too large) is a failure of the environment.
CLOSED_ERRNOS = frozenset({errno.EPIPE, errno.ECONNRESET, errno.EIO, errno.EBADF})
EXIT_CLOSED = 128 + getattr(signal, "SIGPIPE", 13)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own handling points stdout (whichever stream this is) at /dev/null and raises
        # SystemExit(1), which on the event thread would silently end the delivery of every event.
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def console(*, stderr: bool = False, **options: Any) -> Console:
    """A rich Console that prints text as it is: markup off (a path or value holding `[/x]` would
    raise, `[bold]` would vanish) and no highlighting. Styles come from Text objects."""
    return _Console(stderr=stderr, markup=False, highlight=False, **options)


def reopen_closed_streams() -> None:
    """Give a closed stdin, stdout or stderr /dev/null. Not only for Python's sake: the first file
    fmtui opened would otherwise get descriptor 2, and C code writing to stderr would write into it."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))


def discard(fd: int, mode: int = os.O_WRONLY) -> None:
    """Point ``fd`` at /dev/null: later writes to it (buffered text, the interpreter's last flush, a
    progress bar's refresh thread) succeed silently instead of failing again, and reads see the end."""
    try:
        null = os.open(os.devnull, mode)
    except OSError:
        return
    try:
        os.dup2(null, fd)
    except OSError:
        pass
    finally:
        os.close(null)


def write_quietly(stream: IO[str] | None, text: str) -> None:
    """For last words (a warning, a hint): a stream that can no longer take them is no new error."""
    try:
        if stream is not None:
            stream.write(text)
            stream.flush()
    except (OSError, ValueError):
        pass


class OutputGuard:
    """Passes events to ``subscriber``, which writes to ``stream``. When the stream fails, calls
    ``lost(error, name)`` once, points the descriptor at /dev/null and drops later events."""

    def __init__(self, subscriber: Callable[[Any], None], stream: IO[str], name: str,
                 lost: Callable[[OSError, str], None]) -> None:
        self.subscriber, self.stream, self.name, self.lost = subscriber, stream, name, lost
        self.failed = False

    def __call__(self, event: Any) -> None:
        if self.failed:
            return
        try:
            self.subscriber(event)
        except OSError as exc:
            self.failed = True
            try:
                discard(self.stream.fileno())
            except (OSError, ValueError):
                pass
            self.lost(exc, self.name)
