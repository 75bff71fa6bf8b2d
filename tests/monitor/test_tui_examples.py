"""The monitor's new faces: the examples view and the matrix's cursor, the machine in the status line,
the bell at the end of a run, and an error panel that shows a whole message at 80x24."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.widgets import TabbedContent

from fmtui.core.data.fashion_mnist import FILES, _missing_message
from fmtui.tui.monitor.graphics import may_have_graphics
from fmtui.tui.monitor.machine import MachineSampler
from fmtui.tui.monitor.notify import desktop_notification
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.error import ErrorPanel
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.status import StatusLine
from tests.monitor.test_tui import Factory, finishing, holding
from tests.support import until
from tests.support.monitor_fakes import LOOK_ALIKE, PER_CLASS, drive, failing_script, fake_pixels

SIZE = (80, 24)
SHIRT, TSHIRT, SNEAKER = 6, 0, 7


def screen_text(app) -> str:
    """What the terminal shows, as text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def caption(app) -> str:
    return str(app.query_one("#examples-caption").render())


@drive
async def test_the_examples_view_opens_on_the_most_confused_pair_and_keys_move_through_it():
    """e shows Shirt → T-shirt/top, surest mistake first; → ↓ End Home move through the cell's images."""
    app = Factory(holding()).make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ExamplesView)
        await until(pilot, lambda: view.evaluation is not None and view.data is not None)
        await pilot.press("e")
        assert app.query_one(TabbedContent).active == "examples" and view.has_focus
        assert view.cell() == (SHIRT, TSHIRT)
        members = view.members()
        e = view.evaluation
        labels = fake_pixels()[1]
        assert all(labels[i] == SHIRT and e.predictions[i] == TSHIRT for i in members)
        assert len(members) == e.confusion[SHIRT][TSHIRT]
        confidences = [e.confidences[i] for i in members]
        assert confidences == sorted(confidences, reverse=True), "the surest mistakes first"
        await pilot.pause()
        assert "Shirt → T-shirt/top" in screen_text(app) and f"1 of {len(members)}" in caption(app)
        await pilot.press("right", "right")
        assert view.position == 2 and f"3 of {len(members)} · val #{members[2]:,}" in caption(app)
        await pilot.press("down")  # a row of thumbnails: three at 80x24
        assert view.position == 5
        await pilot.press("end")
        assert view.position == len(members) - 1
        await pilot.press("right")
        assert view.position == len(members) - 1, "the last image stays the last"
        await pilot.press("home", "left")
        assert view.position == 0
        await pilot.press("escape")
        assert app.query_one(TabbedContent).active == "confusion" and app.query_one(ConfusionView).has_focus


@drive
async def test_enter_on_a_matrix_cell_shows_its_images_and_the_diagonal_shows_the_least_sure_first():
    """Arrows move the matrix's cursor from the worst pair; Enter opens that cell's images."""
    app = Factory(holding()).make_app()
    async with app.run_test(size=SIZE) as pilot:
        matrix, view = app.query_one(ConfusionView), app.query_one(ExamplesView)
        await until(pilot, lambda: matrix.evaluation is not None and view.data is not None)
        await pilot.press("2")
        assert matrix.has_focus and matrix.current() == (SHIRT, TSHIRT)
        await pilot.press("right", "right", "right", "right", "right", "right")  # along the Shirt row
        assert matrix.current() == (SHIRT, SHIRT)
        await pilot.press("enter")
        assert app.query_one(TabbedContent).active == "examples" and view.cell() == (SHIRT, SHIRT)
        e = view.evaluation
        confidences = [e.confidences[i] for i in view.members()]
        assert len(confidences) == e.confusion[SHIRT][SHIRT] and confidences == sorted(confidences)
        await pilot.press("2", "down", "enter")  # the Sneaker row, same column
        assert view.cell() == (SNEAKER, SHIRT) and len(view.members()) == 0
        await pilot.pause()
        assert "No images in this cell." in caption(app)
        await pilot.press("2", "up", "left", "left", "left", "left", "left", "left", "left")
        assert matrix.current() == (SHIRT, 9), "the cursor wraps around the matrix"
        await pilot.press("right", "enter")
        assert view.cell() == (SHIRT, TSHIRT)


@drive
async def test_after_the_test_evaluation_the_examples_are_of_the_test_split():
    """During training the validation split; once the best weights are tested, the test split."""
    app = Factory(finishing(3)).make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ExamplesView)
        await until(pilot, lambda: not app.active)
        await pilot.press("e")
        await pilot.pause()
        assert view.evaluation.split == "test"
        assert "(test set, epoch 3)" in screen_text(app) and "· test #" in caption(app)


@drive
async def test_the_views_that_wait_for_an_epoch_say_so_in_whole_sentences_at_80x24():
    """Before the first validation, the confusion and examples views say what will appear, every word on screen."""
    app = Factory(holding(epochs_done=0)).make_app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one(StatusLine).state == "running")
        for key, sentence in (("2", "The confusion matrix appears when the first epoch has been validated."),
                              ("e", "The most confused pair's images appear once the first epoch is validated.")):
            await pilot.press(key)
            await pilot.pause()
            assert sentence in screen_text(app)


@drive
async def test_the_hidden_examples_view_draws_nothing():
    """While another view is shown, evaluations arriving cost the examples view no drawing at all."""
    drawn = []
    app = Factory(holding(epochs_done=4)).make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ExamplesView)
        for name in ("_draw_title", "_draw_picture", "_draw_caption", "_draw_thumbs"):
            original = getattr(view, name)
            setattr(view, name, lambda part, original=original, name=name: drawn.append(name) or original(part))
        await until(pilot, lambda: view.evaluation is not None and view.evaluation.epoch == 4)
        await pilot.pause(0.2)
        assert drawn == [] and view._members is None, "nothing drawn, no cell computed"


@pytest.mark.parametrize("cpu_seconds, shown", [(1.5, "CPU 75%"), (0.0, "CPU 0%"), (3.9, "CPU 195%")])
def test_the_cpu_sampler_reports_this_process_s_cpu_use(monkeypatch, cpu_seconds, shown):
    """On a CPU the status line shows the process's CPU time over the wall time since the last sample:
    1.5 s of CPU in 2 s is 75%, an idle process 0%, two busy cores nearly 200%."""
    import fmtui.tui.monitor.machine as machine

    clock = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(machine.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(machine.time, "process_time", lambda: clock["cpu"])
    sampler = MachineSampler("cpu (2 threads)")
    clock["wall"] += 2.0
    clock["cpu"] += cpu_seconds
    assert sampler.sample() == shown
    clock["wall"] += 1.0  # the next sample covers only the second since this one
    assert sampler.sample() == "CPU 0%"


def test_the_gpu_sampler_shows_memory_and_utilisation_or_memory_alone(monkeypatch):
    """On CUDA: memory in use of total and utilisation; without pynvml, memory only, asked once."""
    import torch

    calls = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index: (76 * 2**30, 80 * 2**30))
    monkeypatch.setattr(torch.cuda, "utilization", lambda index: calls.append(index) or 87)
    assert MachineSampler("cuda:1 (NVIDIA H100 80GB HBM3)").sample() == "GPU 4.0/80 GiB 87%"
    assert calls == [1]

    def no_nvml(index):
        calls.append(index)
        raise ModuleNotFoundError("pynvml")

    monkeypatch.setattr(torch.cuda, "utilization", no_nvml)
    sampler = MachineSampler("cuda (NVIDIA H100 80GB HBM3)")
    assert sampler.sample() == sampler.sample() == "GPU 4.0/80 GiB"
    assert calls == [1, 0], "utilisation is not asked for again once it failed"


@drive
async def test_the_status_line_samples_the_machine_only_while_a_run_is_active(monkeypatch):
    """No sampler before a run; during it the machine's load shows; after it, it is gone."""
    samples = []

    class Counting:
        def __init__(self, device, run_dir=None):
            self.device = device

        def sample(self):
            samples.append(self.device)
            return "CPU 42%"

    monkeypatch.setattr("fmtui.tui.monitor.widgets.status.MachineSampler", Counting)
    monkeypatch.setattr("fmtui.tui.monitor.widgets.status.MACHINE_SECONDS", 0.05)
    app = Factory(holding()).make_app(preset=None)
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(StatusLine)
        await pilot.pause(0.2)
        assert samples == [] and status.machine == ""
        await pilot.press("enter")  # the preset menu: start linear
        await until(pilot, lambda: status.machine == "CPU 42%")
        assert "CPU 42%" in str(status.render()) and samples[0] == "cpu (2 threads)"
        await pilot.press("s")
        await until(pilot, lambda: status.state == "stopped")
        count = len(samples)
        await pilot.pause(0.2)
        assert status.machine == "" and len(samples) == count


@drive
async def test_the_end_of_a_run_rings_the_bell_and_asks_for_a_desktop_notification():
    """A run that ends while the monitor is open rings the bell once and sends one notification."""
    rung, written = [], []
    factory = Factory(finishing(2))
    app = factory.make_app()
    app.bell = lambda: rung.append(True)
    app.write_to_terminal = written.append
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: not app.active)
        await pilot.pause()
    assert rung == [True] and len(written) == 1
    assert "fmtui" in written[0] and "linear finished, test accuracy" in written[0]


def test_the_notification_sequence_suits_the_terminal():
    """OSC 9 by default, OSC 777 for VTE terminals and foot, wrapped for tmux; text cannot break out of it."""
    assert desktop_notification("fmtui", "linear finished", {}) == "\x1b]9;fmtui: linear finished\a"
    assert desktop_notification("fmtui", "a;b\x07c", {"VTE_VERSION": "7600"}) == "\x1b]777;notify;fmtui;a,bc\a"
    assert desktop_notification("fmtui", "x", {"TERM": "foot"}).startswith("\x1b]777;notify;")
    wrapped = desktop_notification("fmtui", "x", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;fmtui: x\a\x1b\\"


def test_graphics_are_asked_for_only_where_a_terminal_may_have_them():
    """Kitty, WezTerm and the like are asked; tmux, plain terminals and FMTUI_GRAPHICS=blocks are not."""
    assert may_have_graphics({"TERM": "xterm-kitty"}) and may_have_graphics({"TERM_PROGRAM": "WezTerm"})
    assert not may_have_graphics({"TERM": "xterm-256color"})
    assert not may_have_graphics({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux"})
    assert not may_have_graphics({"TERM": "xterm-kitty", "FMTUI_GRAPHICS": "blocks"})
    assert may_have_graphics({"TERM": "xterm-256color", "FMTUI_GRAPHICS": "ask"})


@drive
async def test_the_missing_data_message_is_whole_at_80x24_with_its_advice():
    """With no data and no network the panel shows every missing file, where to download them and the advice,
    at 80x24."""
    data_dir = Path("/home/a-person-with-a-long-name/.cache/fmtui")
    message = _missing_message(data_dir, list(FILES), "<urlopen error [Errno -3] Temporary failure in name "
                                                       "resolution>")
    app = Factory(failing_script(message)).make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ErrorPanel)
        await until(pilot, lambda: panel.display)
        await pilot.pause()
        shown = screen_text(app)
    for name in FILES:
        assert name in shown
    assert "point --data-dir or FMTUI_DATA" in shown and "FashionMNIST/raw/ inside." in shown
    assert "https://github.com/zalandoresearch/fashion-mnist" in shown


@drive
async def test_a_message_longer_than_the_screen_scrolls_to_its_end():
    """A message too long for the panel scrolls; its last line can be brought into view with the keys."""
    message = "\n".join(f"line {n}" for n in range(40)) + "\nthe advice at the end"
    app = Factory(failing_script(message)).make_app()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ErrorPanel)
        await until(pilot, lambda: panel.display)
        await pilot.pause()
        assert panel.max_scroll_y > 0 and "the advice at the end" not in screen_text(app)
        panel.focus()
        await pilot.press("end")
        await pilot.pause()
        assert "the advice at the end" in screen_text(app)


@pytest.mark.parametrize("true", range(10))
def test_each_fake_class_is_confused_with_its_look_alike(true):
    """The fakes' matrix and per-image predictions agree (the tests above lean on it)."""
    from tests.support.monitor_fakes import evaluated

    e = evaluated("validation", 1, 0.8)
    labels = fake_pixels()[1]
    wrong = sum(1 for i, p in enumerate(e.predictions) if labels[i] == true and p == LOOK_ALIKE[true])
    assert wrong == e.confusion[true][LOOK_ALIKE[true]] and sum(e.confusion[true]) == PER_CLASS


@pytest.mark.parametrize("kind", ["TGPImage", "SixelImage"])
@drive
async def test_with_a_graphics_protocol_the_large_picture_goes_through_textual_image(kind, monkeypatch):
    """Where the terminal has Kitty or Sixel graphics, textual-image's widget gets the selected image
    (a 28x28 greyscale picture) and follows the keys; the thumbnails stay half blocks."""
    import textual_image.widget

    monkeypatch.setattr(ExamplesView, "graphics", getattr(textual_image.widget, kind))
    app = Factory(holding()).make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ExamplesView)
        await until(pilot, lambda: view.evaluation is not None and view.data is not None)
        await pilot.press("e")
        await pilot.pause()
        picture = app.query_one("#examples-picture")
        images = fake_pixels()[0]
        assert picture.image.size == (28, 28) and picture.image.mode == "L"
        assert (np.asarray(picture.image) == images[view.members()[0]]).all()
        await pilot.press("right")
        await pilot.pause()
        assert (np.asarray(picture.image) == images[view.members()[1]]).all()
        assert "▀" * 14 in screen_text(app), "thumbnails in half blocks"
