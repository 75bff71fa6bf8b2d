"""The live monitor: routes each run's events to the widgets that show them, and turns keys into requests.

Threads: a trainer calls our subscriber on its event-bus thread, and that subscriber only posts a
RunEvent message (thread-safe, never blocks). Everything else here runs on the UI thread.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, TabbedContent, TabPane

from fmtui.core.config.presets import PresetInfo
from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import (
    EarlyStopped,
    Event,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
)
from fmtui.core.errors import FmtuiError
from fmtui.core.records.listing import run_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import exits
from fmtui.tui.monitor.messages import RunEvent, forward_to
from fmtui.tui.monitor.notify import desktop_notification
from fmtui.tui.monitor.runs import Run, TrainerLike, attached_trainer
from fmtui.tui.monitor.screens.confirm import Confirm
from fmtui.tui.monitor.screens.help import HelpScreen
from fmtui.tui.monitor.screens.past_runs import PastRuns
from fmtui.tui.monitor.screens.preset_menu import PresetMenu
from fmtui.tui.monitor.views import VIEWS
from fmtui.tui.monitor.widgets import RunView
from fmtui.tui.monitor.widgets.compare import CompareView
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.progress import RunProgress
from fmtui.tui.monitor.widgets.status import StatusLine
from fmtui.tui.render import format as fmt

GIL_SWITCH_SECONDS = 0.0005

# The monitor's own actions; the app's built-in ones (closing a dialog, say) are not gated.
MONITOR_ACTIONS = {"new_run", "past_runs", "pause", "resume", "stop", "matrix", "view", "help"}


class MonitorApp(App[int]):
    TITLE = "fmtui"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #views { height: 1fr; }
    #views ContentSwitcher { height: 1fr; }
    #views TabPane { padding: 0; }
    """
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        # Two bindings on p: check_action shows whichever applies.
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("s", "stop", "Stop"),
        *[Binding(v.key, f"view('{v.id}')", v.title, show=v.in_footer) for v in VIEWS],
        Binding("m", "matrix", "Counts/%", show=False),  # the matrix's title names m; the footer is full
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("r", "past_runs", "Past runs"),
        Binding("q", "quit", "Quit"),
        # Ctrl-C in a terminal program means "stop now": no question, the run ends interrupted (resumable).
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True),
    ]

    def __init__(self, *, new_trainer: Callable[[TrainConfig, RunRecord | None], TrainerLike],
                 presets: Callable[[], list[PresetInfo]], past_runs: Callable[[], list[RunRecord]],
                 runs_dir: str, device: str | None = None, start: TrainConfig | None = None,
                 problem: str = "", attach: RunRecord | None = None,
                 attach_trainer: Callable[[RunRecord], TrainerLike] | None = None) -> None:
        super().__init__()
        self.new_trainer = new_trainer
        self.presets = presets
        self.past_runs = past_runs
        self.runs_dir = runs_dir
        self.device = device
        self.initial = start
        self.attach = attach  # a live run in another process to open on
        self.attach_trainer = attach_trainer or attached_trainer
        self.problem = problem  # a command-line problem (say, an unknown --preset) to show on opening
        self.runs: dict[int, Run] = {}
        self.current: Run | None = None
        self.pending: tuple[TrainConfig, RunRecord | None] | None = None  # starts when the current run has ended
        self.quitting = False
        self.internal_errors: list[RunFailed] = []  # bugs: their tracebacks are printed after the app exits
        self._views: list[RunView] = []
        self._compare: CompareView  # set on mount
        self._previous_view = VIEWS[0].id  # where a toggling view's key goes back to

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield RunProgress()
        yield ErrorPanel()
        with TabbedContent(id="views", initial=VIEWS[0].id):
            for view in VIEWS:
                with TabPane(f"{view.key} {view.title}", id=view.id):
                    yield VerticalScroll(view.widget()) if view.scroll else view.widget()
        yield Footer()

    def on_mount(self) -> None:
        # The trainer thread needs the GIL for a moment between torch ops; while this thread draws
        # (a chart takes ~20 ms of Python) it would wait up to the 5 ms switch interval each time,
        # idling both cores. A short interval hands the GIL back promptly.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        # Kept, not queried per event: the handler then never depends on which screen is on top.
        tabs = [self.query_one(view.widget) for view in VIEWS]
        self._views = [self.query_one(kind) for kind in (StatusLine, RunProgress, ErrorPanel)]
        self._views += [w for w in tabs if hasattr(w, "follow") and hasattr(w, "reset")]
        self._compare = self.query_one(CompareView)
        if self.problem:
            self.query_one(ErrorPanel).show("Cannot start", self.problem)
        self.begin()

    def begin(self) -> None:
        """What the app does once its views are up: attach to the run asked for, start it, or open the
        preset menu (a sweep's monitor starts its trials instead)."""
        if self.attach is not None:
            self.attach_run(self.attach)
        elif self.initial is not None:
            self.start_run(self.initial)
        else:
            self.action_new_run(notice=self.problem)

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)

    @property
    def active(self) -> bool:
        return self.current is not None and not self.current.ended

    # --- runs and their events -------------------------------------------------------------------

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

    def follow_run(self, number: int, config: TrainConfig, trainer: TrainerLike) -> Run:
        """Make run ``number`` the current one: the views start over, and its RunEvent messages are shown."""
        run = Run(number, config, trainer)
        self.runs[number] = run
        self.current = run
        for view in self._views:
            view.reset(config)
        self._compare.add_run(number, config)
        return run

    def on_run_event(self, message: RunEvent) -> None:
        run, event = self.runs[message.run], message.event
        if run.ended and run.attached:
            return  # one this monitor has left: what its watcher had still queued is not shown
        self._show(run, event)
        if isinstance(event, RunStarted) and event.first_epoch > 1:
            # A resumed run: its charts, history and comparison start from its first epoch, not this session's.
            try:
                for past in RunRecord(event.run_dir).replay_epochs(event.epochs, before=event.first_epoch):
                    self._show(run, past)
            except FmtuiError as exc:
                self.notify(f"The earlier epochs cannot be shown: {exc}", severity="warning", markup=False)
        match event:
            case StopRequested():
                run.stopping = True
            case EarlyStopped():
                self.notify(f"Early stop: no better validation loss for {event.patience} epochs "
                            f"(best epoch {event.best_epoch}).", markup=False)
            case RunFinished() | RunFailed():
                run.ended = True
                self._run_ended(run, event)
        if isinstance(event, (Paused, Resumed, StopRequested, RunFinished, RunFailed)):
            self.refresh_bindings()

    def _show(self, run: Run, event: Event) -> None:
        self._compare.follow(run.number, event)
        if run is self.current:
            for view in self._views:
                view.follow(event)

    def _run_ended(self, run: Run, event: Event) -> None:
        if isinstance(event, RunFailed) and not event.user_error:
            self.internal_errors.append(event)
        if self.quitting:
            self.exit(0)
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

    def _stop_current(self) -> None:
        if self.active and self.current is not None:
            if self._request(self.current.trainer.stop):
                self.current.stopping = True
            self.refresh_bindings()

    def _request(self, request: Callable[[], None]) -> bool:
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

    # --- keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if len(self.screen_stack) > 1 and action in MONITOR_ACTIONS:
            return False  # a dialog is open: its keys only (q still quits)
        if self.quitting and action in ("new_run", "pause", "resume", "stop"):
            return None  # on the way out: only waiting for the record is left
        run = self.current if self.active else None
        if action == "pause":
            if run is not None and run.trainer.paused:
                return False  # "Resume" is shown instead
            return True if run is not None and not run.stopping else None
        if action == "resume":
            return run is not None and run.trainer.paused and not run.stopping
        if action == "stop":
            return True if run is not None and not run.stopping else None
        return True

    def action_new_run(self, notice: str = "") -> None:
        highlight = self.current.config.preset if self.current else None
        self.push_screen(PresetMenu(self.presets(), highlight, notice), self._preset_chosen)

    def _preset_chosen(self, config: TrainConfig | None) -> None:
        if config is not None:
            self._switch_to(config, None, f"start {config.preset}")

    def _switch_to(self, config: TrainConfig, resume: RunRecord | None, what: str) -> None:
        """Start a run now, or, while another is active, ask to stop that one first."""
        if not self.active or self.current is None:
            self.start_run(config, resume)
            return
        question = (f"{self.current.config.preset} is still running. Stop it (its best weights are tested "
                    f"and its record completed) and then {what}?")

        def answered(stop: bool | None) -> None:
            if not stop:
                return
            if not self.active:  # it ended while the question was open
                self.start_run(config, resume)
                return
            self.pending = (config, resume)
            self._stop_current()
            self.notify(f"Stopping; {config.preset} starts when the record is complete.", markup=False)

        self.push_screen(Confirm(question, yes="Stop and switch", no="Keep running"), answered)

    def action_past_runs(self) -> None:
        try:
            records, problem = list(reversed(self.past_runs())), ""
        except FmtuiError as exc:
            records, problem = [], str(exc)
        self.push_screen(PastRuns(records, self.runs_dir, problem), self._past_run_chosen)

    def _past_run_chosen(self, choice: tuple[str, RunRecord] | None) -> None:
        if choice is None:
            return
        action, record = choice
        if action == "compare" and run_summary(record)["status"] == "running":
            if self.active and self.current is not None and not self.current.attached:
                self.notify(f"{self.current.config.preset} is running here; stop it or let it finish before "
                            f"attaching to {record.run_id} (or run `fmtui attach` in another terminal).",
                            severity="warning", timeout=8, markup=False)
                return
            self.attach_run(record)
            return
        try:
            if action == "compare":
                if self._compare.add_past(record):
                    self.query_one(TabbedContent).active = "compare"
                else:
                    self.notify(f"{record.run_id} is already in the comparison.", markup=False)
                return
            from fmtui.core.engine.trainer import (
                resume_config,  # late: torch loads with it; the first screen need not wait
            )

            config = resume_config(record, self.device)
        except FmtuiError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self._switch_to(config, record, f"resume {record.run_id}")

    def action_interrupt(self) -> None:
        if self.current is not None and self.current.attached:
            self.exit(0)  # the run is another process's: Ctrl-C leaves it going, as q does
            return
        # run_tui then ends any run as interrupted, with its state saved
        self.exit(return_code=exits.after_signal(signal.SIGINT))

    def action_pause(self) -> None:
        if self.current is not None:
            self._request(self.current.trainer.pause)
            self.refresh_bindings()

    def action_resume(self) -> None:
        if self.current is not None:
            self._request(self.current.trainer.resume)
            self.refresh_bindings()

    def action_stop(self) -> None:
        self._stop_current()
        if self.current is None or not self.current.stopping:
            return
        self.notify("Stopping at the next batch; the best weights are then tested and the record completed.",
                    markup=False)

    def action_matrix(self) -> None:
        confusion = self.query_one(ConfusionView)
        confusion.percent = not confusion.percent
        self.query_one(TabbedContent).active = "confusion"

    def action_view(self, name: str) -> None:
        tabs = self.query_one(TabbedContent)
        toggles = next(v.toggle for v in VIEWS if v.id == name)
        if tabs.active == name and toggles:
            tabs.active = self._previous_view
        elif tabs.active != name:
            self._previous_view = tabs.active
            tabs.active = name
        # A view with keys of its own (the matrix's cursor, the examples) gets them at once.
        widget = self.query_one(next(v.widget for v in VIEWS if v.id == tabs.active))
        if widget.can_focus:
            widget.focus()

    def on_confusion_view_cell_chosen(self, message: ConfusionView.CellChosen) -> None:
        self.query_one(ExamplesView).show_cell(message.true, message.predicted)
        self.action_view("examples")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.quitting:
            self.notify("Still completing the run's record; fmtui exits as soon as it is written.", markup=False)
            return
        if not self.active or (self.current is not None and self.current.attached):
            self.exit(0)  # an attached run is another process's: it goes on, no question to ask
            return

        def answered(stop: bool | None) -> None:
            if not stop:
                return
            if not self.active:
                self.exit(0)
                return
            self.quitting, self.pending = True, None
            self._stop_current()
            self.notify("Stopping the run; fmtui exits once its record is complete.", timeout=30, markup=False)

        self.push_screen(Confirm("A run is active. Stop it (its best weights are tested and its record completed) "
                                 "and quit?", yes="Stop and quit", no="Keep running"), answered)
