"""The monitor's keys, tabs and help come from the tables in fmtui.tui.monitor.views, written once."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Tab

from fmtui.tui.monitor.actions import GATED
from fmtui.tui.monitor.app import MonitorApp
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.screens.help import HelpScreen
from fmtui.tui.monitor.sweep import SweepMonitor, make_sweep_app
from fmtui.tui.monitor.views import KEYS, VIEWS
from tests.monitor.test_tui import SIZE, Factory
from tests.monitor.test_tui_sweep import FIXED
from tests.support import until
from tests.support.monitor_fakes import drive


def bound(app_class: type) -> dict[str, list[tuple[str, str, bool]]]:
    return {key: [(b.action, b.description, b.show) for b in bindings]
            for key, bindings in app_class._merge_bindings().key_to_bindings.items()}


def test_every_view_has_its_key_from_its_entry():
    """Each view's key shows it, under its title, in the footer only where its entry says so."""
    keys = bound(MonitorApp)
    for view in VIEWS:
        assert keys[view.key] == [(f"view('{view.id}')", view.title, view.in_footer)]


def test_the_keys_table_is_the_app_s_bindings_in_footer_order():
    """The app binds exactly the table's keys, in its order (the footer's), p twice for pause and resume."""
    made = [(b.key, b.action) for b in MonitorApp.BINDINGS]
    assert made == [(k.key, k.action) for k in KEYS if k.action is not None]
    assert [action for action, _, _ in bound(MonitorApp)["p"]] == ["pause", "resume"]
    assert GATED == {"new_run", "past_runs", "pause", "resume", "stop", "matrix", "view", "help", "predict"}


def test_the_sweep_monitor_prunes_with_s_and_shows_w_in_its_footer():
    """The sweep's monitor rebinds s to Prune and puts its view's key in the footer; the rest is the table's."""
    keys, base = bound(SweepMonitor), bound(MonitorApp)
    assert keys["s"] == [("stop", "Prune", True)]
    assert keys["w"] == [("view('sweep')", "Sweep", True)]
    assert {k: v for k, v in keys.items() if k not in ("s", "w")} == {k: v for k, v in base.items()
                                                                      if k not in ("s", "w")}


@drive
async def test_tabs_and_help_lines_come_from_the_tables():
    """Each view's tab reads 'KEY Title'; the help screen has a line for every key that has help."""
    app = make_app(trainer_factory=Factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")  # the preset menu opens first
        labels = [str(tab.label) for tab in app.query(Tab)]
        assert labels == [view.label for view in VIEWS]
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one("Static").content
        said = list(table.columns[0].cells)
        assert said == [k.said for k in KEYS if k.help]
        assert "Ctrl-C" in said and "?" in said and "← →" in said


@drive
async def test_the_sweep_view_key_works_in_a_watching_monitor():
    """w shows the sweep view in a monitor that watches a study, where the run keys are off."""
    app = make_sweep_app(sweep=None, read=lambda: FIXED, study="tinyvgg-sweep", runs_dir=Path("runs"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await pilot.press("w")
        assert app.query_one("#views").active == "sweep"
        assert app.check_action("stop", ()) is False and app.check_action("new_run", ()) is False
