"""The monitor's runs from start to end: starting or attaching one, passing it requests, noticing how
it ended, and, once the app has exited, ending what is still going.

A part of MonitorApp (fmtui.tui.monitor.app), which holds the state it works on (``runs``, ``current``,
``pending``, ``quitting``, ``internal_errors``) and makes a run the current one (``follow_run``). All of
it runs on the UI thread, except ``finish_runs`` and ``hurry_runs``, which the launcher calls once the
app has exited or from the signal relay.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import EarlyStopped, Event, Paused, Resumed, RunFailed, RunFinished, StopRequested
from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.messages import forward_to
from fmtui.tui.monitor.notify import desktop_notification
from fmtui.tui.monitor.runs import Run, TrainerLike
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.render import format as fmt

# The events after which the keys that apply change (Pause becomes Resume, Stop goes away).
CHANGE_KEYS = (Paused, Resumed, StopRequested, RunFinished, RunFailed)


class RunLifecycle:
    """Starting, requesting and ending the monitor's runs (a mixin of MonitorApp)."""

    runs: dict[int, Run]
    current: Run | None
    pending: tuple[TrainConfig, RunRecord | None] | None  # starts when the current run has ended
    quitting: bool
    internal_errors: list[RunFailed]  # bugs: their tracebacks are printed after the app exits

    @property
    def active(self) -> bool:
        return self.current is not None and not self.current.ended

    def start_run(self, config: TrainConfig, resume: RunRecord | None = None) -> None:
        self._add_run(config, self.new_trainer(config, resume))

    def attach_run(self, record: RunRecord) -> None:
        """Follow a live run in another process; one this monitor was following is left to itself."""
        try:
            config = record.read_config()
        except FmtuiError as exc:
            self.query_one(ErrorPanel).show("Cannot attach", str(exc))
            return
        if self.current is not None and self.current.attached and self.active:
            self.leave(self.current)
        self._add_run(config, self.attach_trainer(record))
        self.notify(f"Attached to {record.run_id}: q leaves it running.", markup=False)

    def open_past(self, record: RunRecord) -> None:
        """Show a past run in every view, as it ended (its record replayed)."""
        from fmtui.tui.monitor.recorded import RecordedTrainer

        try:  # small files, read here so that what is wrong with them is said at once
            config, summary, history = record.read_config(), record.read_summary(), record.read_history()
        except FmtuiError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        replay = RecordedTrainer(record, config, summary, history, lambda work: self.run_worker(
            work, thread=True, name="fmtui-recorded", group="recorded", exit_on_error=False))
        self._add_run(config, replay)

    def leave(self, run: Run) -> None:
        detach = getattr(run.trainer, "detach", None)
        if detach is not None:
            detach()
        run.ended = True

    def _add_run(self, config: TrainConfig, trainer: TrainerLike) -> None:
        run = self.follow_run(len(self.runs) + 1, config, trainer)
        run.trainer.subscribe(forward_to(self, run.number))
        run.trainer.start()
        self.refresh_bindings()

    def track(self, run: Run, event: Event) -> None:
        """What an event of ``run`` changes about the run itself, once its views have been shown it."""
        match event:
            case StopRequested():
                run.stopping = True
            case EarlyStopped():
                self.notify(f"Early stop: no better validation {event.best_by} for {event.patience} epochs "
                            f"(best epoch {event.best_epoch}).", markup=False)
            case RunFinished() | RunFailed():
                run.ended = True
                self._run_ended(run, event)
        if isinstance(event, CHANGE_KEYS):
            self.refresh_bindings()

    def _run_ended(self, run: Run, event: RunFinished | RunFailed) -> None:
        if isinstance(event, RunFailed) and not event.user_error:
            self.internal_errors.append(event)
        if self.quitting:
            self.exit(0)
        elif run.replayed:
            return  # a past run, replayed: its end is old news
        elif self.pending is not None:
            (config, resume), self.pending = self.pending, None
            self.start_run(config, resume)
        elif isinstance(event, RunFinished):
            tested = f"test accuracy {fmt.percent(event.test_accuracy)}" if event.test_accuracy is not None \
                else "not tested"
            epochs = fmt.count(event.epochs_completed, "epoch")
            record = f"Record: {event.run_dir}" if event.run_dir else "Nothing was recorded"
            self.notify(f"{run.config.preset} {event.status}: {tested} after {epochs} "
                        f"({fmt.duration(event.seconds)}). {record}", timeout=5, markup=False)
            self.announce(f"{run.config.preset} {event.status}, {tested}")
        else:
            self.announce(f"{run.config.preset} failed")

    def announce(self, message: str) -> None:
        """Tell a person in another window that a run has ended: the terminal bell and a desktop
        notification (only when nothing follows: a run stopped to switch presets or to quit is no news)."""
        self.bell()
        self.write_to_terminal(desktop_notification("fmtui", message, os.environ))

    def write_to_terminal(self, sequence: str) -> None:
        """An escape sequence for the terminal itself, through Textual's driver as App.bell() writes."""
        if not self.is_headless and self._driver is not None:
            self._driver.write(sequence)

    def stop_current(self) -> None:
        if self.active and self.current is not None:
            if self.pass_request(self.current.trainer.stop):
                self.current.stopping = True
            self.refresh_bindings()

    def pass_request(self, request: Callable[[], object]) -> bool:
        """Pass a request to the current run; one in another process may be unreachable (it says why)."""
        try:
            request()
        except FmtuiError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return False
        return True

    def finish_runs(self, timeout: float = 120.0) -> list[str]:
        """After the app has exited: end any run still going (say, the terminal went away) and wait for it.

        Returns the directories of the runs this interrupted, for a hint on how to resume them.
        """
        interrupted = []
        for run in self.runs.values():
            if run.attached:
                self.leave(run)  # another process's run: it goes on without this monitor
            elif run.trainer.running:
                run.trainer.stop("interrupted")  # skips the test evaluation so we exit promptly
                outcome = run.trainer.wait(timeout)
                if getattr(outcome, "status", None) == "interrupted" and getattr(outcome, "run_dir", None):
                    interrupted.append(str(outcome.run_dir))
            else:
                run.trainer.wait(timeout)
        return interrupted

    def hurry_runs(self) -> bool:
        """A second interrupt while runs end: each gives up its epoch in progress. True when none has
        begun a record, so the process may leave at once."""
        answers = [run.trainer.hurry() for run in self.runs.values() if run.trainer.running and not run.attached]
        return all(answers)
