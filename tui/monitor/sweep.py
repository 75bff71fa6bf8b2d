"""The monitor on a sweep: each trial's live views as for any run, and the sweep view's leaderboard.

The trials run in a Textual thread worker (Optuna's loop, in fmtui.core.sweep); each trial's trainer
is handed to the app with a TrialStarted message before it starts, so its events follow it in order.
The worker is the app's: as the app closes, the trial in progress is interrupted (the study records
it as failed, and the same command continues the sweep). With ``--watch`` no trial runs here: the app
only reads a study that workers elsewhere are filling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.widgets import TabbedContent
from textual.worker import Worker

from fmtui.core.config.settings import TrainConfig
from fmtui.core.live.serve import serve
from fmtui.core.sweep.leaderboard import Snapshot
from fmtui.core.sweep.runner import Sweep, SweepInterrupted, TrialFailed
from fmtui.tui.cli.signals import Interrupts
from fmtui.tui.monitor.app import MonitorApp
from fmtui.tui.monitor.lifecycle import STUCK_SECONDS, leave_if_stuck, tell_internal_errors
from fmtui.tui.monitor.messages import forward_to
from fmtui.tui.monitor.runs import TrainerLike
from fmtui.tui.monitor.screens.confirm import Confirm
from fmtui.tui.monitor.views import VIEW, Key, view_key
from fmtui.tui.monitor.widgets.status import StatusLine
from fmtui.tui.monitor.widgets.sweep import SweepView

if TYPE_CHECKING:
    from fmtui.core.sweep.session import SweepSession


class TrialStarted(Message):
    """The sweep's worker made trial ``number``'s trainer; the app follows it from now on."""

    def __init__(self, number: int, config: TrainConfig, trainer: TrainerLike) -> None:
        super().__init__()
        self.number, self.config, self.trainer = number, config, trainer


class SweepEnded(Message):
    """The sweep's worker is done: the study has its trials, the timeout passed, or it failed."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


def _no_trainer(config: TrainConfig, resume: Any = None) -> TrainerLike:
    raise AssertionError("a sweep's monitor starts no runs of its own")


class SweepMonitor(MonitorApp):
    """MonitorApp whose runs are a sweep's trials; ``s`` prunes the current trial by hand."""

    BINDINGS = [Key("s", "stop", "Prune").binding(), view_key(VIEW["sweep"], show=True).binding()]

    def __init__(self, *, read: Callable[[], Snapshot], study: str, runs_dir: str,
                 run_sweep: Callable[[], None] | None = None, after: Callable[[], str] | None = None,
                 interrupt: Callable[[], None] | None = None) -> None:
        super().__init__(new_trainer=_no_trainer, presets=lambda: [], past_runs=lambda: [], runs_dir=runs_dir)
        self.read = read
        self.study = study
        self.run_sweep = run_sweep  # None: --watch, the trials run elsewhere
        self.after = after  # what to say once the sweep is done (the best preset written, say)
        self.interrupt_sweep = interrupt  # ends the trial in progress, from any thread
        self.sweep_thread: Worker[None] | None = None  # the thread worker that runs the trials
        self.sweep_error: BaseException | None = None
        self.swept = threading.Event()  # the trials' worker has returned: the study is consistent

    def begin(self) -> None:
        self.query_one(SweepView).watch_study(self.read)
        if self.run_sweep is None:
            status = self.query_one(StatusLine)
            status.state, status.subject = "watching", f"sweep {self.study}: its trials run elsewhere"
            self.query_one(TabbedContent).active = "sweep"
            return
        self.query_one(StatusLine).subject = f"sweep {self.study}: starting its first trial"
        self.sweep_thread = self._run_trials(self.run_sweep)

    @work(thread=True, exclusive=True, group="sweep", name="fmtui-sweep")
    def _run_trials(self, run_sweep: Callable[[], None]) -> None:
        error: BaseException | None = None
        try:
            run_sweep()
        except BaseException as exc:  # handed to the UI thread and to the launcher, which report it
            error = exc
        self.sweep_error = error
        self.swept.set()
        self.post_message(SweepEnded(error))

    def on_unmount(self) -> None:
        # The worker's thread is waited for as the app's event loop closes: its trial must end first.
        if self.sweeping and self.interrupt_sweep is not None:
            self.interrupt_sweep()

    @property
    def sweeping(self) -> bool:
        return self.sweep_thread is not None and not self.swept.is_set()

    def wait_for_sweep(self, timeout: float | None = None) -> None:
        """Until the trials' worker has returned (any thread); at once when there is none."""
        if self.sweep_thread is not None:
            self.swept.wait(timeout)

    def trial_hook(self, number: int, config: TrainConfig, trainer: TrainerLike) -> None:
        """Sweep.on_trial, on the sweep's worker thread: route the trainer's events here before it starts."""
        serve(trainer)  # `fmtui attach` follows the trial from elsewhere, as it does any monitor's run
        trainer.subscribe(forward_to(self, number))
        self.post_message(TrialStarted(number, config, trainer))

    def on_trial_started(self, message: TrialStarted) -> None:
        self.follow_run(message.number, message.config, message.trainer)
        self.refresh_bindings()

    def on_sweep_ended(self, message: SweepEnded) -> None:
        self.query_one(SweepView).poll()
        error = message.error
        if error is None and not self.runs:  # the study had every trial it asks for before this command
            status = self.query_one(StatusLine)
            status.state, status.subject = "complete", f"sweep {self.study}: all its trials had run before"
            self.query_one(TabbedContent).active = "sweep"
            self.notify(f"Sweep {self.study} is complete: nothing is left to run. Start another with --study NEW, "
                        f"or give this one more with a larger --trials. {self.after() if self.after else ''} "
                        f"q quits.", timeout=30, markup=False)
        elif error is None:
            self.notify(f"Sweep {self.study} is done. {self.after() if self.after else ''} q quits.", timeout=30)
        elif not isinstance(error, SweepInterrupted):
            self.notify(f"The sweep stopped: {error}", severity="error", timeout=30)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_run", "past_runs") or (self.run_sweep is None and action in ("pause", "resume", "stop")):
            return False  # the sweep chooses the runs; a watcher has none
        if action in ("pause", "resume", "stop") and not self.sweeping and not self.active:
            return False  # the sweep is over: no trial is left to pause or prune
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
                self.exit(0)  # closing interrupts the trial; the study stays consistent

        self.push_screen(Confirm(f"Sweep {self.study} is running. Interrupt its current trial (recorded as failed; "
                                 f"the same command continues the sweep) and quit?",
                                 yes="Interrupt and quit", no="Keep going"), answered)


def make_sweep_app(*, sweep: Sweep | None, read: Callable[[], Snapshot], study: str, runs_dir: Path,
                   work: Callable[[], None] | None = None, after: Callable[[], str] | None = None) -> SweepMonitor:
    """The monitor on a sweep, for the CLI and the tests alike: ``work`` (default ``sweep.run``) runs the
    trials in a worker once the app is up; with ``sweep`` None the app follows a study elsewhere."""
    app = SweepMonitor(read=read, study=study, runs_dir=str(runs_dir),
                       run_sweep=(work or sweep.run) if sweep else None, after=after,
                       interrupt=sweep.interrupt if sweep else None)
    if sweep is not None:
        sweep.on_trial = app.trial_hook
    return app


def finish_sweep(app: SweepMonitor, sweep: Sweep | None, timeout: float = 120.0) -> None:
    """After the app has exited: interrupt a trial still going (the study records it as failed) and wait."""
    if sweep is not None:
        sweep.interrupt()  # a no-op when the sweep is done
    app.wait_for_sweep(timeout)
    app.finish_runs(timeout)


def run_sweep_tui(*, session: SweepSession | None, read: Callable[[], Snapshot], study: str,
                  runs_dir: Path) -> tuple[int, BaseException | None]:
    """Run the monitor on a sweep until the person quits: ``session``'s trials, or with None a study that
    runs elsewhere. The exit code, and what ended the trials early (None when they ran out)."""
    sweep = session.sweep if session is not None else None
    app = make_sweep_app(sweep=sweep, read=read, study=study, runs_dir=runs_dir,
                         work=session.run if session is not None else None,
                         after=_best_note(session) if session is not None else None)
    app_done = threading.Event()

    def stop(signum: int) -> None:
        # The trial is interrupted here and now, not once the app has exited: after SIGHUP the terminal
        # is gone, and an app that cannot write its last screen may never return from run() (seen by
        # hand: the sweep went on to a new trial).
        if sweep is not None:
            sweep.interrupt()
        app.exit(return_code=128 + signum)
        leave_if_stuck(app_done, code=128 + signum, first=app.wait_for_sweep,
                       settle=lambda: app.finish_runs(STUCK_SECONDS),
                       note=f"the terminal went away; sweep {app.study} was left consistent (its trial interrupted)\n")

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
    tell_internal_errors(app)
    error = app.sweep_error
    if isinstance(error, TrialFailed) and not error.user_error:
        return 1, error
    return (app.return_code or 0), error


def _best_note(session: SweepSession) -> Callable[[], str]:
    """What the monitor says of the best settings once the trials are done (on the UI thread: no storage read)."""
    return lambda: f"Best settings: {session.best_preset}." if session.best_preset else ""
