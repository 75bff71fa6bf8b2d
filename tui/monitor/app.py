"""The live monitor: the app that lays out the views and routes each run's events to the widgets
that show them.

Threads: a trainer calls our subscriber on its event-bus thread, and that subscriber only posts a
RunEvent message (thread-safe, never blocks). Everything else here runs on the UI thread.

The app is put together from two parts with a module each: its runs from start to end
(fmtui.tui.monitor.run_lifecycle) and its keys (fmtui.tui.monitor.actions, over the table of keys in
fmtui.tui.monitor.views). The state they share is made here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, TabbedContent, TabPane

from fmtui.core.config.presets import PresetInfo
from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Event, RunFailed, RunStarted
from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.monitor.actions import MonitorActions
from fmtui.tui.monitor.messages import RunEvent
from fmtui.tui.monitor.run_lifecycle import RunLifecycle
from fmtui.tui.monitor.runs import Run, TrainerLike, attached_trainer
from fmtui.tui.monitor.views import KEYS, VIEWS, bindings
from fmtui.tui.monitor.widgets import RunView
from fmtui.tui.monitor.widgets.compare import CompareView
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.progress import RunProgress
from fmtui.tui.monitor.widgets.status import StatusLine

GIL_SWITCH_SECONDS = 0.0005


class MonitorApp(MonitorActions, RunLifecycle, App[int]):
    TITLE = "fmtui"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #views { height: 1fr; }
    #views ContentSwitcher { height: 1fr; }
    #views TabPane { padding: 0; }
    """
    BINDINGS = bindings(KEYS)

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
        self.started_with: dict[str, TrainConfig] = {}  # the menu's fields, as last chosen per preset
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
                with TabPane(view.label, id=view.id):
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
                record, best_by = RunRecord(event.run_dir), str(event.config.get("select", "loss"))
                for past in record.replay_epochs(event.epochs, before=event.first_epoch, best_by=best_by):
                    self._show(run, past)
            except FmtuiError as exc:
                self.notify(f"The earlier epochs cannot be shown: {exc}", severity="warning", markup=False)
        self.track(run, event)

    def _show(self, run: Run, event: Event) -> None:
        self._compare.follow(run.number, event)
        if run is self.current:
            for view in self._views:
                view.follow(event)

