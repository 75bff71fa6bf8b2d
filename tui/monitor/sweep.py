"""The monitor on a sweep: each trial's live views as for any run, and the sweep view's leaderboard.

The sweep runs on its own thread (Optuna's loop, in fmtui.core.sweep); each trial's trainer is handed to the
app with a TrialStarted message before it starts, so its events follow it in order. With ``--watch``
no trial runs here: the app only reads a study that workers elsewhere are filling.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import TabbedContent

from fmtui.core.config.settings import TrainConfig
from fmtui.core.sweep.leaderboard import Snapshot
from fmtui.core.sweep.runner import Sweep, SweepInterrupted, TrialFailed
from fmtui.tui.cli.signals import Interrupts
from fmtui.tui.monitor.app import MonitorApp
from fmtui.tui.monitor.launch import STUCK_SECONDS, _tell
from fmtui.tui.monitor.messages import forward_to
from fmtui.tui.monitor.runs import TrainerLike
from fmtui.tui.monitor.screens.confirm import Confirm
from fmtui.tui.monitor.widgets.status import StatusLine
from fmtui.tui.monitor.widgets.sweep import SweepView


class TrialStarted(Message):
    """The sweep thread made trial ``number``'s trainer; the app follows it from now on."""

    def __init__(self, number: int, config: TrainConfig, trainer: TrainerLike) -> None:
        super().__init__()
        self.number, self.config, self.trainer = number, config, trainer


class SweepEnded(Message):
    """The sweep thread is done: the study has its trials, the timeout passed, or it failed."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


def _no_trainer(config: TrainConfig, resume: Any = None) -> TrainerLike:
    raise AssertionError("a sweep's monitor starts no runs of its own")


class SweepMonitor(MonitorApp):
    """MonitorApp whose runs are a sweep's trials; ``s`` prunes the current trial by hand."""

    BINDINGS = [Binding("s", "stop", "Prune"), Binding("w", "view('sweep')", "Sweep")]

    def __init__(self, *, read: Callable[[], Snapshot], study: str, runs_dir: str,
                 run_sweep: Callable[[], None] | None = None, after: Callable[[], str] | None = None) -> None:
        super().__init__(new_trainer=_no_trainer, presets=lambda: [], past_runs=lambda: [], runs_dir=runs_dir)
        self.read = read
        self.study = study
        self.run_sweep = run_sweep  # None: --watch, the trials run elsewhere
        self.after = after  # what to say once the sweep is done (the best preset written, say)
        self.sweep_thread: threading.Thread | None = None
        self.sweep_error: BaseException | None = None

    def begin(self) -> None:
        self.query_one(SweepView).watch_study(self.read)
        if self.run_sweep is None:
            status = self.query_one(StatusLine)
            status.state, status.subject = "watching", f"sweep {self.study}: its trials run elsewhere"
            self.query_one(TabbedContent).active = "sweep"
            return
        self.query_one(StatusLine).subject = f"sweep {self.study}: starting its first trial"
        self.sweep_thread = threading.Thread(target=self._sweep_main, name="fmtui-sweep", daemon=True)
        self.sweep_thread.start()

    def _sweep_main(self) -> None:
        error: BaseException | None = None
        try:
            self.run_sweep()
        except BaseException as exc:  # handed to the UI thread and to the launcher, which report it
            error = exc
        self.sweep_error = error
        self.post_message(SweepEnded(error))

    @property
    def sweeping(self) -> bool:
        return self.sweep_thread is not None and self.sweep_thread.is_alive()

    def trial_hook(self, number: int, config: TrainConfig, trainer: TrainerLike) -> None:
        """Sweep.on_trial, on the sweep thread: route the trainer's events here before it starts."""
        trainer.subscribe(forward_to(self, number))
        self.post_message(TrialStarted(number, config, trainer))

    def on_trial_started(self, message: TrialStarted) -> None:
        self.follow_run(message.number, message.config, message.trainer)
        self.refresh_bindings()

    def on_sweep_ended(self, message: SweepEnded) -> None:
        self.query_one(SweepView).poll()
        error = message.error
        if error is None:
            self.notify(f"Sweep {self.study} is done. {self.after() if self.after else ''} q quits.", timeout=30)
        elif not isinstance(error, SweepInterrupted):
            self.notify(f"The sweep stopped: {error}", severity="error", timeout=30)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_run", "past_runs") or (self.run_sweep is None and action in ("pause", "resume", "stop")):
            return False  # the sweep chooses the runs; a watcher has none
        return super().check_action(action, parameters)

    def action_stop(self) -> None:
        if self.active and self.current is not None and not self.current.stopping:
            self.current.stopping = True
            self.current.trainer.stop("pruned")
            self.refresh_bindings()
            self.notify(f"Pruning trial {self.current.number} by hand; the sweep goes on with the next.")

    async def action_quit(self) -> None:
        if not self.sweeping:
            self.exit(0)
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.exit(0)  # the launcher then interrupts the trial; the study stays consistent

        self.push_screen(Confirm(f"Sweep {self.study} is running. Interrupt its current trial (recorded as failed; "
                                 f"the same command continues the sweep) and quit?",
                                 yes="Interrupt and quit", no="Keep going"), answered)


def make_sweep_app(*, sweep: Sweep | None, read: Callable[[], Snapshot], study: str, runs_dir: Path,
                   work: Callable[[], None] | None = None, after: Callable[[], str] | None = None) -> SweepMonitor:
    """The monitor on a sweep, for the CLI and the tests alike: ``work`` (default ``sweep.run``) runs the
    trials on a thread once the app is up; with ``sweep`` None the app follows a study elsewhere."""
    app = SweepMonitor(read=read, study=study, runs_dir=str(runs_dir),
                       run_sweep=(work or sweep.run) if sweep else None, after=after)
    if sweep is not None:
        sweep.on_trial = app.trial_hook
    return app


def finish_sweep(app: SweepMonitor, sweep: Sweep | None, timeout: float = 120.0) -> None:
    """After the app has exited: interrupt a trial still going (the study records it as failed) and wait."""
    if sweep is not None:
        sweep.interrupt()  # a no-op when the sweep is done
    if app.sweep_thread is not None:
        app.sweep_thread.join(timeout)
    app.finish_runs(timeout)


def run_sweep_tui(*, sweep: Sweep | None, read: Callable[[], Snapshot], study: str, runs_dir: Path,
                  work: Callable[[], None] | None = None,
                  after: Callable[[], str] | None = None) -> tuple[int, BaseException | None]:
    """Run the monitor on a sweep until the person quits; the exit code, and what ended the sweep thread
    (None when it finished its trials)."""
    app = make_sweep_app(sweep=sweep, read=read, study=study, runs_dir=runs_dir, work=work, after=after)
    app_done = threading.Event()

    def stop(signum: int) -> None:
        # The trial is interrupted here and now, not once the app has exited: after SIGHUP the terminal
        # is gone, and an app that cannot write its last screen may never return from run() (seen by
        # hand: the sweep thread then went on to a new trial).
        if sweep is not None:
            sweep.interrupt()
        app.exit(return_code=128 + signum)
        threading.Thread(target=_leave_if_stuck, args=(app, app_done, 128 + signum), daemon=True).start()

    def hurry() -> bool:  # a later signal: give up the trial's epoch in progress; Optuna still records it
        if sweep is not None:
            sweep.hurry()
        return False

    with Interrupts(stop=stop, hurry=hurry):
        try:
            app.run()
        finally:
            app_done.set()
            finish_sweep(app, sweep)
    for failure in app.internal_errors:
        _tell(f"internal error: {failure.error}\n{failure.traceback}")
    error = app.sweep_error
    if isinstance(error, TrialFailed) and not error.user_error:
        return 1, error
    return (app.return_code or 0), error


def _leave_if_stuck(app: SweepMonitor, app_done: threading.Event, code: int) -> None:
    """After a signal: once the sweep thread has ended (its trial recorded, the study consistent), exit
    the process if the app is still stuck on a terminal that went away."""
    if app.sweep_thread is not None:
        app.sweep_thread.join()
    if not app_done.wait(STUCK_SECONDS):
        app.finish_runs(STUCK_SECONDS)
        _tell(f"the terminal went away; sweep {app.study} was left consistent (its trial interrupted)\n")
        os._exit(code)
