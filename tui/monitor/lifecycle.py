"""How the monitor's process ends, for the monitor on runs (fmtui.tui.monitor.launch) and on a sweep
(fmtui.tui.monitor.sweep) alike: the terminal going away (SIGHUP), the watchdog for an app that cannot
finish closing, and what is said on stderr once the app has given the terminal back.

Signals arrive through fmtui.tui.cli.signals (Interrupts: a pipe and a relay thread); the launchers
decide what each means, with the pieces here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli.signals import Interrupts
from fmtui.tui.cli.streams import discard

if TYPE_CHECKING:
    from fmtui.tui.monitor.app import MonitorApp

STUCK_SECONDS = 15.0  # after a signal, how long the app may take to close before the process goes on without it


def leave_if_stuck(app_done: threading.Event, *, code: int, settle: Callable[[], None],
                   first: Callable[[], None] | None = None, note: str = "") -> None:
    """After a signal: should the app not have closed (``app_done``) within STUCK_SECONDS, ``settle``
    ends its work whole, ``note`` is said, and the process leaves with ``code``. ``first`` is what the
    app itself waits for before it can close (a sweep's trial), so the clock starts once it is done.

    A plain thread, not a Textual worker: it must outlive an app that is stuck (a terminal that went
    away can leave Textual's shutdown waiting on a write forever)."""

    def watch() -> None:
        if first is not None:
            first()
        if app_done.wait(STUCK_SECONDS):
            return
        settle()
        if note:
            tell(note)
        os._exit(code)

    threading.Thread(target=watch, name="fmtui-watchdog", daemon=True).start()


def hang_up(app: MonitorApp, app_done: threading.Event) -> None:
    """SIGHUP: the terminal is gone. The app leaves and the runs it started go on (``go_on_headless``);
    should the app never finish closing, the runs still train to the end of their records, then the
    process leaves (a second SIGHUP cannot reach it then)."""
    # First: the app's last writes (restoring the terminal) then go to /dev/null; written to a
    # terminal that is gone they can leave Textual's shutdown waiting forever.
    forget_terminal()
    app.exit(return_code=0)
    leave_if_stuck(app_done, code=0, settle=lambda: _wait_for_own_runs(app))


def go_on_headless(app: MonitorApp) -> int:
    """After SIGHUP: the monitor has left; the runs this process started train on to the end of their
    records. Nothing can reach a terminal any more, so the standard streams point at /dev/null, and
    only a later SIGTERM or SIGINT (not another SIGHUP) ends the runs, as interrupted."""
    forget_terminal()
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    own = [run for run in app.runs.values() if not run.attached]
    for run in app.runs.values():
        if run.attached:
            app.leave(run)  # another process's run: it was never this process's to keep

    def stop(signum: int) -> None:
        for run in own:
            if run.trainer.running:
                run.trainer.stop("interrupted")

    with Interrupts(stop=stop, hurry=app.hurry_runs) as interrupts:
        while any(run.trainer.running for run in own):  # in slices: signals are received meanwhile
            time.sleep(0.2)
        for run in own:
            run.trainer.wait()
    return interrupts.code or 0


def _wait_for_own_runs(app: MonitorApp) -> None:
    for run in app.runs.values():
        if not run.attached:
            run.trainer.wait()


def forget_terminal() -> None:
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        discard(fd, mode)


def interrupted_note(run_dir: Path) -> str:
    """What a person needs to know about a run the app's exit interrupted."""
    if RunRecord(run_dir).state_path.exists():
        return f"interrupted: the run's state is saved; continue it with `fmtui train --resume {run_dir}`\n"
    return f"interrupted before its first epoch ended, so there is nothing to resume; its record: {run_dir}\n"


def tell_internal_errors(app: MonitorApp) -> None:
    """The tracebacks of the bugs the app met (runs that failed by no fault of their input)."""
    for failure in app.internal_errors:
        tell(f"internal error: {failure.error}\n{failure.traceback}")


def tell(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:
        pass  # the terminal is gone (the SSH connection dropped): the record already says it all
