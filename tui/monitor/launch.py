"""Building and running the monitor app: one factory for the CLI and the tests alike.

When the terminal goes away (SIGHUP: the SSH connection drops, the window closes) the monitor leaves
and the runs it started go on headless to the end of their records; `fmtui attach` shows them again.
Ctrl-C, q and SIGTERM end them as before.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fmtui.core.config.presets import all_presets, load_preset
from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.errors import ConfigError
from fmtui.core.records.listing import list_runs
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import exits
from fmtui.tui.cli.signals import Interrupts, leave_now
from fmtui.tui.cli.streams import discard
from fmtui.tui.monitor.app import MonitorApp
from fmtui.tui.monitor.runs import TrainerLike


def make_app(*, preset: str | None = None, data_dir: Path | None = None, runs_dir: Path = Path("runs"),
             device: str | None = None,
             trainer_factory: Callable[[TrainConfig, RunRecord | None], TrainerLike] | None = None,
             attach: Path | None = None,
             attach_trainer: Callable[[RunRecord], TrainerLike] | None = None) -> MonitorApp:
    """The app, ready to run. A bad --device raises ConfigError before any screen opens; a preset that
    cannot be used is explained inside the app, which opens on the preset menu instead."""
    with_overrides(TrainConfig(), {"device": device})  # checks --device even when no preset is given
    start, problem = None, ""
    if preset:
        try:
            start = with_overrides(load_preset(preset), {"device": device})
        except ConfigError as exc:
            problem = str(exc)

    def real_trainer(config: TrainConfig, resume: RunRecord | None = None) -> TrainerLike:
        from fmtui.core.engine.trainer import (
            Trainer,  # late: torch takes a moment to import, the first screen need not wait
        )

        return Trainer(config, data_dir=data_dir, runs_dir=runs_dir, resume=resume)

    return MonitorApp(new_trainer=trainer_factory or real_trainer, presets=lambda: all_presets(device),
                      # The monitor makes its runs directory with its first run: none yet is no error here.
                      past_runs=lambda: list_runs(runs_dir) if Path(runs_dir).is_dir() else [],
                      runs_dir=str(runs_dir), device=device,
                      start=start, problem=problem, attach=RunRecord(attach) if attach is not None else None,
                      attach_trainer=attach_trainer)


def run_tui(*, preset: str | None = None, data_dir: Path | None = None, runs_dir: Path = Path("runs"),
            device: str | None = None, attach: Path | None = None) -> int:
    """Run the monitor until the person quits; the exit code for the CLI."""
    app = make_app(preset=preset, data_dir=data_dir, runs_dir=runs_dir, device=device, attach=attach)
    from fmtui.tui.monitor.graphics import graphics_widget
    from fmtui.tui.monitor.widgets.examples import ExamplesView

    ExamplesView.graphics = graphics_widget(os.environ)  # asks the terminal: before Textual takes it over
    closed = False  # the app has exited (Ctrl-C typed in it, say): a signal now can only hurry the runs
    hung_up = False  # the terminal went away: the runs go on without the monitor
    app_done = threading.Event()

    def stop(signum: int) -> None:
        nonlocal hung_up
        if signum == getattr(signal, "SIGHUP", None) and not closed:
            hung_up = True
            # First: the app's last writes (restoring the terminal) then go to /dev/null; written to a
            # terminal that is gone they can leave Textual's shutdown waiting forever.
            _forget_terminal()
            app.exit(return_code=0)
            threading.Thread(target=_leave_if_stuck, args=(app, app_done), daemon=True).start()
            return
        # We were told to end (SIGTERM, kill -INT): no one is left to ask, so leave at once;
        # finish_runs then ends the run as interrupted, with its record written.
        app.exit(return_code=exits.after_signal(signum))
        if closed and app.hurry_runs():
            leave_now(exits.after_signal(signum))

    def hurry() -> bool:
        # The process may leave at once only once the app has given the terminal back.
        nothing_recording = app.hurry_runs()
        return closed and nothing_recording

    # SIGINT too: Ctrl-C typed in the app arrives as a key (see MonitorApp), but `kill -INT` from
    # elsewhere arrives as a signal and must end the run the same way; once the app has closed the
    # terminal is back to normal and a Ctrl-C is a signal again.
    with Interrupts(stop=stop, hurry=hurry) as interrupts:
        try:
            app.run()
        except OSError:
            if not hung_up:
                raise
            # Restoring a terminal that is gone fails; there is nothing left to restore.
        finally:
            closed = True
            app_done.set()
            interrupted = [] if hung_up else app.finish_runs()
    if hung_up:
        return go_on_headless(app)
    for run_dir in interrupted:
        _tell(interrupted_note(Path(run_dir)))
    for failure in app.internal_errors:
        _tell(f"internal error: {failure.error}\n{failure.traceback}")
    if app.internal_errors:
        return exits.BUG
    return app.return_code or interrupts.code or 0


def go_on_headless(app: MonitorApp) -> int:
    """After SIGHUP: the monitor has left; the runs this process started train on to the end of their
    records. Nothing can reach a terminal any more, so the standard streams point at /dev/null, and
    only a later SIGTERM or SIGINT (not another SIGHUP) ends the runs, as interrupted."""
    _forget_terminal()
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


STUCK_SECONDS = 15.0  # after a signal, how long the app may take to close before the process goes on without it


def _leave_if_stuck(app: MonitorApp, app_done: threading.Event) -> None:
    """After SIGHUP, should the app never finish closing: the runs this process started still train to
    the end of their records, then the process leaves (a second SIGHUP cannot reach it here)."""
    if app_done.wait(STUCK_SECONDS):
        return
    for run in app.runs.values():
        if not run.attached:
            run.trainer.wait()
    os._exit(0)


def _forget_terminal() -> None:
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        discard(fd, mode)


def interrupted_note(run_dir: Path) -> str:
    """What a person needs to know about a run the app's exit interrupted."""
    if RunRecord(run_dir).state_path.exists():
        return f"interrupted: the run's state is saved; continue it with `fmtui train --resume {run_dir}`\n"
    return f"interrupted before its first epoch ended, so there is nothing to resume; its record: {run_dir}\n"


def _tell(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:
        pass  # the terminal is gone (the SSH connection dropped): the record already says it all
