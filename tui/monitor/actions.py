"""The monitor's keys: which apply now, and what each does (the dialogs they open and the answers).

A part of MonitorApp (fmtui.tui.monitor.app); the keys themselves, their footer words and help lines
are the table fmtui.tui.monitor.views.KEYS. Everything here runs on the UI thread.
"""

from __future__ import annotations

import signal

from textual.widgets import TabbedContent

from fmtui.core.config.settings import TrainConfig
from fmtui.core.errors import FmtuiError
from fmtui.core.records.listing import run_summary
from fmtui.core.records.run_dir import RunRecord
from fmtui.tui.cli import exits
from fmtui.tui.monitor.screens.confirm import Confirm
from fmtui.tui.monitor.screens.help import HelpScreen
from fmtui.tui.monitor.screens.past_runs import PastRuns
from fmtui.tui.monitor.screens.predict import PredictScreen
from fmtui.tui.monitor.screens.preset_menu import PresetMenu
from fmtui.tui.monitor.views import KEYS, VIEW, gated_actions
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.examples import ExamplesView

# The monitor's own actions; the app's built-in ones (closing a dialog, say) are not gated.
GATED = gated_actions(KEYS)
RUN_REQUESTS = ("new_run", "pause", "resume", "stop")  # on the way out, none of these applies


class MonitorActions:
    """The monitor's key handling (a mixin of MonitorApp, whose runs it acts on)."""

    _previous_view: str  # where a toggling view's key goes back to
    started_with: dict[str, TrainConfig]  # by preset: the config last chosen in the menu

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if len(self.screen_stack) > 1 and action in GATED:
            return False  # a dialog is open: its keys only (q still quits)
        if self.quitting and action in RUN_REQUESTS:
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
        self.push_screen(PresetMenu(self.presets(), highlight, notice, self.started_with), self._preset_chosen)

    def _preset_chosen(self, config: TrainConfig | None) -> None:
        if config is not None:
            self.started_with[config.preset] = config  # the menu offers these values again
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
            self.stop_current()
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
        if action == "open" and run_summary(record)["status"] != "running":
            if self.active:  # the views follow the run going here; the past one joins the comparison
                self.notify(f"{record.run_id} is added to the comparison; it opens in every view once "
                            f"{self.current.config.preset} has ended.", markup=False)
                action = "compare"
            else:
                self.open_past(record)
                return
        if action in ("open", "compare") and run_summary(record)["status"] == "running":
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
            self.pass_request(self.current.trainer.pause)
            self.refresh_bindings()

    def action_resume(self) -> None:
        if self.current is not None:
            self.pass_request(self.current.trainer.resume)
            self.refresh_bindings()

    def action_stop(self) -> None:
        self.stop_current()
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
        if tabs.active == name and VIEW[name].toggle:
            tabs.active = self._previous_view
        elif tabs.active != name:
            self._previous_view = tabs.active
            tabs.active = name
        # A view with keys of its own (the matrix's cursor, the examples) gets them at once.
        widget = self.query_one(VIEW[tabs.active].widget)
        if widget.can_focus:
            widget.focus()

    def on_confusion_view_cell_chosen(self, message: ConfusionView.CellChosen) -> None:
        self.query_one(ExamplesView).show_cell(message.true, message.predicted)
        self.action_view("examples")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_predict(self) -> None:
        self.push_screen(PredictScreen(self.past_runs))

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
            self.stop_current()
            self.notify("Stopping the run; fmtui exits once its record is complete.", timeout=30, markup=False)

        self.push_screen(Confirm("A run is active. Stop it (its best weights are tested and its record completed) "
                                 "and quit?", yes="Stop and quit", no="Keep running"), answered)
