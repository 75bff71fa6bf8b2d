"""The signals that end a run cleanly, saved as interrupted: in headless mode, in the monitor and in sweeps.

The handler itself only writes the signal's number to a pipe: it takes no lock and does no work, so a
second signal arriving while the first is being acted on cannot deadlock (a handler that called
``threading.Event.set`` did: the second call waited on the lock the first held, on the same thread).
A small thread reads the pipe and acts: the first signal asks the run to stop and save itself, any
later one asks it to hurry (give up the epoch or evaluation in progress). When nothing is being
written the process may then leave at once, with os._exit; otherwise it waits for the trainer, which
is prompt once hurried. The exit code is 128 + the first signal received.

Before a run exists (arguments being read, torch importing) a signal just ends the process, quietly,
with 128+N: there is nothing to save yet. Once a run's outcome is recorded, signals are ignored.
Other signals keep their default action: SIGUSR1 or SIGALRM end the process at once, like SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

# Ctrl-C, `kill`, and the SSH connection dropping (SIGHUP, which Windows does not have).
HANDLED_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s)


class _Relay:
    """The pipe between the handler and the thread that acts, one per process (a forked child makes
    its own: threads do not survive a fork)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.actions: list[Callable[[int], None]] = []  # the innermost last; none: leave at once
        self.settled = False  # a run's outcome is recorded: a signal with no action now changes nothing
        threading.Thread(target=self._serve, name="fmtui-signals", daemon=True).start()

    def record(self, signum: int, frame: FrameType | None) -> None:
        """The handler: no lock, no allocation beyond a byte, no work."""
        try:
            os.write(self._write, signum.to_bytes(1, "little"))
        except OSError:
            pass  # the pipe is full: enough signals are already waiting to be acted on

    def _serve(self) -> None:
        while True:
            for signum in os.read(self._read, 64):
                self._act(signum)

    def _act(self, signum: int) -> None:
        actions = self.actions
        if actions:
            actions[-1](signum)
        elif not self.settled:
            leave_now(128 + signum)


_relay: _Relay | None = None


def _the_relay() -> _Relay:
    global _relay
    if _relay is None or _relay.pid != os.getpid():
        _relay = _Relay()
    return _relay


def exit_on_signals() -> None:
    """From the start of `fmtui`: a signal ends the process with 128+N until a run takes over."""
    relay = _the_relay()
    for s in HANDLED_SIGNALS:
        signal.signal(s, relay.record)


class Interrupts:
    """While a run is going: ``stop(signum)`` on the first signal, ``hurry()`` on each later one, both on
    the relay's thread; when ``hurry`` answers True (nothing is being written) the process exits at once.

        with Interrupts(stop=lambda s: trainer.stop("interrupted"), hurry=trainer.hurry) as interrupts:
            ...wait for the run...
        interrupts.code   # 128 + the first signal, or None
    """

    def __init__(self, stop: Callable[[int], None], hurry: Callable[[], bool] = lambda: False) -> None:
        self.stop, self.hurry = stop, hurry
        self.received: list[int] = []
        self._previous: dict[int, object] = {}

    @property
    def code(self) -> int | None:
        return 128 + self.received[0] if self.received else None

    def __enter__(self) -> Interrupts:
        relay = _the_relay()
        relay.actions.append(self._act)
        self._previous = {s: signal.signal(s, relay.record) for s in HANDLED_SIGNALS}
        return self

    def __exit__(self, *exc_info: object) -> None:
        relay = _the_relay()
        relay.settled = True
        for s, handler in self._previous.items():
            signal.signal(s, handler)  # type: ignore[arg-type]
        relay.actions.remove(self._act)

    def _act(self, signum: int) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            self.stop(signum)
        elif self.hurry():
            leave_now(128 + self.received[0])


def leave_now(code: int) -> None:
    """Exit without the interpreter's shutdown (which would wait on, or abort in, the trainer thread)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
