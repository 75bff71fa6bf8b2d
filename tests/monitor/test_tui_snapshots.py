"""Snapshots of the monitor's layout at 80x24 and 120x40, with fixed events.

Events are handed to the app's handler directly, on the UI thread, so the picture never depends on
timing (the threaded path and batch coalescing are covered in test_tui.py). Elapsed time and ETA
come from the events, so they are fixed too, and so is the machine's load (a fixed sampler). The
images are the fakes' fixed silhouettes. Update with `pytest --snapshot-update` and look.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fmtui.core.config.presets import load_preset
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.messages import RunEvent
from fmtui.tui.monitor.widgets.charts import Charts
from fmtui.tui.monitor.widgets.status import StatusLine
from tests.support.monitor_fakes import HOLD, FakeTrainer, run_script


class FixedSampler:
    """The machine as the snapshots show it, whatever this machine is doing."""

    def __init__(self, device: str, run_dir: str | None = None) -> None:
        pass

    def sample(self) -> str:
        return "CPU 150%"


@pytest.fixture(autouse=True)
def fixed_machine(monkeypatch):
    monkeypatch.setattr("fmtui.tui.monitor.widgets.status.MachineSampler", FixedSampler)


def idle_trainer(config, resume=None):
    """A trainer that emits nothing by itself: the test feeds its events."""
    return FakeTrainer(config, [HOLD])


def feed(app, run: int, events) -> None:
    for event in events:
        if event is not HOLD:
            app.on_run_event(RunEvent(run, event))


def linear_in_epoch_7(pilot) -> None:
    app = pilot.app
    feed(app, 1, run_script(app.current.config, epochs_done=6, batches=40, batches_in_progress=26))
    app.query_one(Charts).redraw_if_changed()
    app.query_one(StatusLine)._sample_machine()  # not a second later, on its timer


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_screen(snap_compare, size):
    """The main screen mid-run: status, both progress bars, and the three charts."""
    assert snap_compare(make_app(preset="linear", trainer_factory=idle_trainer), terminal_size=size,
                        run_before=linear_in_epoch_7)


def test_confusion_matrix_at_80x24(snap_compare):
    """The confusion matrix with class names, recall, precision and the worst pairs fits 80x24."""
    assert snap_compare(make_app(preset="linear", trainer_factory=idle_trainer), terminal_size=(80, 24),
                        run_before=linear_in_epoch_7, press=["2"])


def test_compare_linear_then_tinyvgg_at_80x24(snap_compare):
    """Compare shows both runs' validation curves, a table, and by how much tinyvgg leads."""

    async def two_runs(pilot) -> None:
        app = pilot.app
        linear = app.current.config
        feed(app, 1, run_script(linear, epochs_done=6, hold=False, start_acc=0.80, gain=0.018))
        app.start_run(replace(load_preset("tinyvgg"), epochs=6))
        feed(app, 2, run_script(app.current.config, epochs_done=6, hold=False, start_acc=0.85, gain=0.03))
        await pilot.pause()
        app.clear_notifications()  # the "finished" toasts would cover the table
        await pilot.pause()

    assert snap_compare(make_app(preset="linear", trainer_factory=idle_trainer), terminal_size=(80, 24),
                        run_before=two_runs, press=["c"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_examples_view(snap_compare, size):
    """The examples of Shirt → T-shirt/top: the second image large with its labels and confidence, and
    its page of thumbnails (six at 80x24, twenty at 120x40), the selected one marked."""
    assert snap_compare(make_app(preset="linear", trainer_factory=idle_trainer), terminal_size=size,
                        run_before=linear_in_epoch_7, press=["e", "right"])
