"""The monitor driven by keys, with a scripted trainer: what a person sees and what each key does."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input, Label, TabbedContent

from fmtui.core.config.presets import load_preset, preset_names
from fmtui.core.engine.events import BatchEnded, EpochEnded, RunFinished
from fmtui.core.errors import ConfigError
from fmtui.tui.cli.flags import NO_FLAGS, Flags
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.messages import RunEvent
from fmtui.tui.monitor.screens.confirm import Confirm
from fmtui.tui.monitor.screens.help import HelpScreen
from fmtui.tui.monitor.screens.past_runs import PastRuns
from fmtui.tui.monitor.screens.preset_menu import PresetMenu
from fmtui.tui.monitor.widgets import EPOCH_REDRAW_SECONDS
from fmtui.tui.monitor.widgets.charts import BATCH_REDRAW_SECONDS, Charts
from fmtui.tui.monitor.widgets.compare import CompareView
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.history import HistoryTable
from fmtui.tui.monitor.widgets.progress import RunProgress
from fmtui.tui.monitor.widgets.status import StatusLine
from tests.support import until
from tests.support.monitor_fakes import FakeTrainer, drive, failing_script, run_script

SIZE = (80, 24)


class Factory:
    """Makes a FakeTrainer per run from ``scripts`` (one per run, in order) and remembers them."""

    def __init__(self, *scripts, ending_seconds: float = 0.0) -> None:
        self.scripts = list(scripts)
        self.ending_seconds = ending_seconds
        self.trainers: list[FakeTrainer] = []
        self.app = None
        self.previous_ended_at_start: list[bool] = []

    def __call__(self, config, resume=None):
        script = self.scripts[len(self.trainers)]
        trainer = FakeTrainer(config, script(config) if callable(script) else script, self.ending_seconds)
        if self.app is not None and self.app.current is not None:
            self.previous_ended_at_start.append(self.app.current.ended)
        self.trainers.append(trainer)
        return trainer

    def make_app(self, preset: str | None = "linear", flags: Flags = NO_FLAGS):
        self.app = make_app(preset=preset, flags=flags, trainer_factory=self)
        return self.app


def holding(epochs_done: int = 2):
    return lambda config: run_script(config, epochs_done=epochs_done, batches_in_progress=5)


def finishing(epochs_done: int = 3):
    return lambda config: run_script(config, epochs_done=epochs_done, hold=False)




@drive
async def test_a_finished_run_fills_every_view():
    """Status, history, confusion matrix, charts and compare all show a run that finished."""
    factory = Factory(finishing(3))
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: status.state == "finished")
        assert "linear · 7,850 params · cpu (2 threads)" in status.subject
        history = app.query_one(HistoryTable)
        assert history.row_count == 3
        assert history.get_row("3")[0] == "3" and history.get_row("3")[-1] == "*", "the best epoch is starred"
        confusion = app.query_one(ConfusionView)
        assert confusion.evaluation.split == "test"
        charts = app.query_one(Charts)
        assert charts.epochs == [1, 2, 3] and len(charts.val_acc) == 3
        compare = app.query_one(CompareView).runs["1"]
        assert compare.status == "finished" and compare.test is not None and compare.epochs == [1, 2, 3]
        assert not app.active


@drive
async def test_the_progress_says_which_validation_score_made_the_best_epoch():
    """Beside an epoch's accuracy, the progress names the rule of `select`: the lowest loss by default, the
    highest accuracy where the run asks for it."""
    by_accuracy = Flags({}, ("select=accuracy",))
    for flags, rule in ((NO_FLAGS, "(lowest val loss yet)"), (by_accuracy, "(highest val acc yet)")):
        factory = Factory(finishing(2))
        app = factory.make_app(flags=flags)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: factory.trainers and not app.active)
            assert app.query_one(RunProgress).epoch_note == f"val acc 80.00% {rule}"


@drive
async def test_pause_and_resume_with_p():
    """p pauses the trainer and the footer offers Resume; p again resumes it."""
    factory = Factory(holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: status.state == "running" and app.query_one(Charts).epochs)
        await pilot.press("p")
        await until(pilot, lambda: status.state == "paused")
        assert factory.trainers[0].paused
        assert app.check_action("resume", ()) is True and app.check_action("pause", ()) is False
        await pilot.press("p")
        await until(pilot, lambda: status.state == "running")
        assert not factory.trainers[0].paused


@drive
async def test_stop_ends_the_run_with_its_test_result():
    """s stops early; the run still reports its test accuracy, and p and s are greyed out afterwards."""
    factory = Factory(holding(epochs_done=2))
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: len(app.query_one(Charts).epochs) == 2)
        await pilot.press("s")
        await until(pilot, lambda: status.state == "stopped")
        assert app.query_one(ConfusionView).evaluation.split == "test"
        assert app.query_one(CompareView).runs["1"].test is not None
        assert app.check_action("stop", ()) is None and app.check_action("pause", ()) is None


# The menu opens on the running preset (linear) and lists presets by name.
TO_TINYVGG = ["down"] * (preset_names().index("tinyvgg") - preset_names().index("linear"))


@drive
async def test_switching_preset_asks_then_starts_after_the_old_run_has_ended():
    """Picking tinyvgg while linear runs asks first; 'no' keeps it, 'yes' stops it and starts tinyvgg after."""
    factory = Factory(holding(), holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(StatusLine).state == "running")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        await pilot.press(*TO_TINYVGG)
        await pilot.press("tab")  # to the epochs field
        epochs = app.screen.query_one("#epochs", Input)
        assert epochs.has_focus and epochs.value == str(load_preset("tinyvgg").epochs)
        await pilot.press("backspace", "backspace", "2", "enter")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, Confirm))
        assert len(factory.trainers) == 1 and app.active, "'no' leaves the run alone"

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        await pilot.press(*TO_TINYVGG, "tab", "backspace", "backspace", "2", "enter")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: len(factory.trainers) == 2 and app.query_one(StatusLine).state == "running")
        assert factory.previous_ended_at_start == [True], "the new run starts only once the old one has ended"
        first, second = app.query_one(CompareView).runs.values()
        assert first.status == "stopped" and first.test is not None
        assert factory.trainers[1].config.preset == "tinyvgg" and factory.trainers[1].config.epochs == 2
        assert "tinyvgg" in app.query_one(StatusLine).subject


@drive
async def test_the_menu_offers_the_epochs_a_preset_was_last_started_with():
    """A 2-epoch try of linear, then n and Enter: the menu offers linear with 2 epochs again, not the preset's
    15 (a 27-minute run on the next Enter); another preset still shows its own."""
    factory = Factory(finishing(2), holding())
    app = factory.make_app(preset=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        await pilot.press("tab", *["backspace"] * 3, "2", "enter")
        await until(pilot, lambda: factory.trainers and not app.active)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        assert app.screen.query_one("#epochs", Input).value == "2"
        await pilot.press(*TO_TINYVGG)
        await pilot.pause()
        assert app.screen.query_one("#epochs", Input).value == str(load_preset("tinyvgg").epochs)
        await pilot.press(*["up"] * len(TO_TINYVGG), "enter")
        await until(pilot, lambda: len(factory.trainers) == 2)
        assert factory.trainers[1].config.preset == "linear" and factory.trainers[1].config.epochs == 2


@drive
async def test_settings_flags_apply_to_every_run_the_monitor_starts():
    """`fmtui --preset linear --epochs 2 --set dropout=0.2`: that run, and a preset picked from the menu later,
    train with those settings; the menu shows them. A flag no preset can take stops the monitor before it opens."""
    flags = Flags({"epochs": 2, "lr": None}, ("dropout=0.2",))
    factory = Factory(finishing(2), holding())
    app = factory.make_app(flags=flags)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: factory.trainers and not app.active)
        assert (factory.trainers[0].config.epochs, factory.trainers[0].config.dropout) == (2, 0.2)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        await pilot.press(*TO_TINYVGG)
        await pilot.pause()
        assert app.screen.query_one("#epochs", Input).value == "2"
        await pilot.press("enter")
        await until(pilot, lambda: len(factory.trainers) == 2)
        assert factory.trainers[1].config.preset == "tinyvgg"
        assert (factory.trainers[1].config.epochs, factory.trainers[1].config.dropout) == (2, 0.2)
    with pytest.raises(ConfigError, match="--set colour"):
        make_app(preset=None, flags=Flags({}, ("colour=red",)), trainer_factory=factory)


def test_the_menu_and_presets_list_the_article_s_pair_first(tmp_path):
    """linear, then tinyvgg (the headline model one press away), the fast pair, then the next steps; a person's
    own after."""
    from fmtui.core.config.presets import all_presets

    (tmp_path / "aaa-mine.toml").write_text('model = "linear"\n')
    names = [info.name for info in all_presets(extra=tmp_path)]
    assert names[:6] == ["linear", "tinyvgg", "fast", "fast-94", "tinyvgg-wide", "resnet"] and names[-1] == "aaa-mine"
    assert preset_names(tmp_path) == names


def test_the_menu_blames_the_field_that_is_wrong_even_for_a_number_too_long_to_read():
    """A 4,400-digit epochs value is an epochs problem (Python cannot read it as an int), not the learning rate's."""
    from fmtui.core.config.presets import all_presets
    from fmtui.tui.monitor.screens.preset_menu import configure

    linear = next(info for info in all_presets() if info.name == "linear")
    with pytest.raises(ConfigError, match="^epochs = a 4,400-digit number: must be between 1 and"):
        configure(linear, "9" * 4400, "0.01")
    with pytest.raises(ConfigError, match="^learning rate: expected a number"):
        configure(linear, "3", "fast")
    assert configure(linear, " 3 ", "1e-3").epochs == 3


@drive
async def test_the_preset_menu_explains_a_bad_value_and_stays_open():
    """An epochs value out of range is named in the menu instead of starting a run."""
    factory = Factory(holding())
    app = factory.make_app(preset=None)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))  # no --preset: the menu opens at once
        await pilot.press("tab", "backspace", "backspace", "0", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PresetMenu) and not factory.trainers
        assert "epochs = 0: must be between 1 and 10000" in str(app.screen.query_one("#problem").render())
        await pilot.press("backspace", "3", "enter")
        await until(pilot, lambda: factory.trainers)
        assert factory.trainers[0].config.epochs == 3 and factory.trainers[0].config.preset == "linear"


@drive
async def test_quit_while_running_asks_then_waits_for_the_record():
    """q asks first; a confirmed quit stops the run and exits only after the run has finished."""
    handled = []
    factory = Factory(holding(), ending_seconds=0.3)  # the app must outwait the run's test evaluation
    app = factory.make_app()

    def hook(message):
        if isinstance(message, RunEvent):
            handled.append(message.event)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await until(pilot, lambda: app.query_one(StatusLine).state == "running")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.active and not factory.trainers[0]._stop.is_set()
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
    assert isinstance(handled[-1], RunFinished) and handled[-1].status == "stopped"
    assert app.runs[1].ended


@drive
async def test_quit_with_no_active_run_exits_at_once():
    """q after the run has ended exits without asking."""
    factory = Factory(finishing(1))
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.active)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


@drive
async def test_a_failed_run_shows_its_message_and_the_app_stays_usable():
    """A run that fails shows why inside the app; n still opens the menu and a new run clears the error."""
    factory = Factory(failing_script("FashionMNIST is not in /nowhere and could not be downloaded."), holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ErrorPanel)
        await until(pilot, lambda: app.query_one(StatusLine).state == "failed")
        assert panel.display and "FashionMNIST is not in /nowhere" in panel.message
        assert panel.border_title == "The run failed"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(StatusLine).state == "running")
        assert not panel.display
        assert app.internal_errors == [], "a user error is not a bug"


@drive
async def test_m_switches_counts_and_percentages_and_c_toggles_compare():
    """m shows the confusion matrix as counts, then row percentages; c opens compare and goes back."""
    factory = Factory(holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        confusion = app.query_one(ConfusionView)
        await until(pilot, lambda: confusion.evaluation is not None)
        tabs = app.query_one(TabbedContent)
        await pilot.press("2")
        assert tabs.active == "confusion"
        shown = str(app.screen.query_one(ConfusionView).render().renderables[0])
        assert "counts" in shown
        await pilot.press("m")
        assert confusion.percent and "row %" in str(confusion.render().renderables[0])
        assert "most confused: Shirt → T-shirt/top" in str(confusion.render().renderables[2])
        await pilot.press("c")
        assert tabs.active == "compare"
        await pilot.press("c")
        assert tabs.active == "confusion"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@drive
async def test_the_batch_chart_redraws_on_its_timer_whatever_the_event_rate():
    """Thousands of batch events in a burst cost list appends; the chart is rebuilt once per BATCH_REDRAW_SECONDS."""
    config = load_preset("linear")
    script = run_script(config, epochs_done=0, batches=2000, batches_in_progress=2000)
    factory = Factory(script)
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        charts = app.query_one(Charts)
        await until(pilot, lambda: app.query_one(StatusLine).state == "running")
        before, started = charts.redraws, time.monotonic()
        await until(pilot, lambda: charts.batch_x and charts.batch_x[-1] == 2000)
        await pilot.pause(BATCH_REDRAW_SECONDS + 0.2)  # the last batches are drawn within a second
        seconds = time.monotonic() - started
        assert charts.batch_loss and charts.redraws - before >= 1
        # No epoch ends in this script, so every redraw is the batch chart's: one per timer tick, and
        # a redraw per event, or a timer four times as fast, would exceed this.
        assert charts.redraws - before <= seconds / BATCH_REDRAW_SECONDS + 1


def test_batch_progress_of_one_run_may_replace_the_previous_one():
    """Only batch progress of the same run is coalesced; epoch results and other runs never are."""
    config = load_preset("linear")
    events = run_script(config, epochs_done=1)
    batch = [e for e in events if isinstance(e, BatchEnded)][:2]
    epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert RunEvent(1, batch[0]).can_replace(RunEvent(1, batch[1]))
    assert not RunEvent(1, batch[0]).can_replace(RunEvent(2, batch[1]))
    assert not RunEvent(1, batch[0]).can_replace(RunEvent(1, epoch))
    assert not RunEvent(1, epoch).can_replace(RunEvent(1, batch[0]))


@drive
async def test_an_unknown_preset_is_explained_in_the_app_which_opens_on_the_menu():
    """`fmtui --preset tinyvg` opens the app, names the problem and offers the preset menu."""
    factory = Factory(holding())
    app = factory.make_app(preset="tinyvg")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PresetMenu))
        panel = app.query_one(ErrorPanel)
        assert panel.display and "unknown preset 'tinyvg'. Did you mean 'tinyvgg'?" in panel.message
        notice = str(app.screen.query_one("#notice").render())  # the menu covers the panel at 80x24
        assert notice.startswith("Cannot start: unknown preset 'tinyvg'.")
        assert not factory.trainers
        await pilot.press("enter")
        await until(pilot, lambda: factory.trainers)
        assert factory.trainers[0].config.preset == "linear"


def test_a_bad_device_is_refused_before_the_app_opens():
    """make_app names a malformed --device (the CLI turns this into exit code 2)."""
    with pytest.raises(ConfigError, match="--device"):
        make_app(device="tpu", trainer_factory=Factory())


@drive
async def test_ctrl_c_quits_at_once_and_interrupts_the_run():
    """Ctrl-C asks nothing: the app exits with 130 and the run is stopped as interrupted."""
    factory = Factory(holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(HistoryTable).epochs_seen == 2)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 130
    app.finish_runs()
    assert factory.trainers[0].stop_reason == "interrupted"


@drive
async def test_hidden_tables_wait_and_catch_up_when_shown():
    """The history and compare tables take no rows while hidden (each row costs a layout pass of the
    whole screen, twice a second for the linear model), and show them all as soon as they are shown."""
    factory = Factory(holding())
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        history, compare = app.query_one(HistoryTable), app.query_one(CompareView)
        await until(pilot, lambda: history.epochs_seen == 2)
        await pilot.pause(EPOCH_REDRAW_SECONDS + 0.5)  # the tables' timers have come round while hidden
        assert history.row_count == 0 and compare.table.row_count == 0
        await pilot.press("3")
        await until(pilot, lambda: history.row_count == 2)
        assert [history.get_row_at(i)[0] for i in range(2)] == ["1", "2"]
        await pilot.press("c")
        await until(pilot, lambda: compare.table.row_count == 1)
        assert compare.runs["1"].epochs == [1, 2]
        await pilot.press("ctrl+c")
    app.finish_runs()


@drive
async def test_compare_calls_a_tie_a_tie_and_names_the_leader():
    """Equal test accuracies are called a tie; a better run leads by the gap, in points."""
    factory = Factory(finishing(), finishing(), lambda config: run_script(config, epochs_done=3, hold=False, gain=0.03))
    app = factory.make_app()
    async with app.run_test(size=SIZE) as pilot:
        verdict = app.query_one(CompareView).verdict
        await pilot.press("c")
        for number, next_preset in ((1, "linear"), (2, "tinyvgg"), (3, None)):
            await until(pilot, lambda: app.runs[number].ended)
            if number == 2:
                await until(pilot, lambda: "tie" in str(verdict.render()))
                assert str(verdict.render()).startswith("#1 linear and #2 linear tie at ")
            if next_preset:
                app.start_run(load_preset(next_preset))
        await until(pilot, lambda: "leads" in str(verdict.render()))
        runs = app.query_one(CompareView).runs
        gap = (runs["3"].test - runs["1"].test) * 100
        assert gap > 0.5
        assert str(verdict.render()).startswith(f"#3 tinyvgg leads #1 linear by {gap:.2f} points of test accuracy")


@drive
async def test_past_runs_before_the_first_run_says_there_are_none(tmp_path):
    """The runs directory is made by the first run; before it, r says so instead of reporting an error."""
    app = make_app(runs_dir=tmp_path / "runs", trainer_factory=Factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")  # the preset menu opens first
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PastRuns))
        shown = str(app.screen.query_one("#where", Label).render())
        assert shown == f"No runs in {tmp_path / 'runs'} yet."
