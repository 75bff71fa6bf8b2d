"""The explanations in the monitor at 80x24: the examples view's map key and the Explain view, reading
a real run's best.pt while a scripted run plays its events."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from textual.widgets import TabbedContent

from fmtui.core.engine.events import RunStarted
from fmtui.core.explain.attributions import attribute
from fmtui.core.explain.loading import load_model
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.explain import ExplainView
from tests.monitor.test_tui import Factory
from tests.support import until
from tests.support.monitor_fakes import drive, fake_pixels, run_script

SIZE = (80, 24)


def holding_on(run_dir):
    """A run that has validated two epochs and holds, whose record is ``run_dir`` (a real best.pt)."""
    def script(config):
        events = run_script(config, epochs_done=2, batches_in_progress=5)
        return [replace(e, run_dir=str(run_dir)) if isinstance(e, RunStarted) else e for e in events]
    return script


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@drive
async def test_a_lays_the_models_map_over_the_large_picture_and_takes_it_away(patch_runs):
    """In the examples view, a computes the map of the selected image off the UI thread and shows it; a
    again shows the plain picture."""
    app = Factory(holding_on(patch_runs["linear"])).make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = app.query_one(ExamplesView)
        await until(pilot, lambda: view.evaluation is not None and view.data is not None)
        await pilot.press("e")
        plain = str(app.query_one("#examples-picture").render())
        await pilot.press("a")
        index = view.selection()[2]
        await until(pilot, lambda: view._map_of(index) is not None)
        values, method = view._map_of(index)
        images = fake_pixels()[0]
        expected = attribute(load_model(patch_runs["linear"]), images[index:index + 1],
                             [view.evaluation.predictions[index]], "ig")[0]
        assert method == "ig"
        np.testing.assert_allclose(values, expected, atol=1e-6)
        await pilot.pause()
        assert "IG → T-shirt · a hides" in str(app.query_one("#examples-caption").render())
        assert app.query_one("#examples-picture").render().spans != plain  # coloured, not grey
        await pilot.press("a")
        await pilot.pause()
        assert "a hides" not in str(app.query_one("#examples-caption").render())


@drive
async def test_the_explain_view_shows_the_selected_image_then_what_the_model_learned_and_the_pair(patch_runs):
    """x explains the examples view's image (integrated gradients first, at 80x24); l shows a CNN's filters;
    d the cell's means and the map of its mistakes, computed off the UI thread."""
    app = Factory(holding_on(patch_runs["tinyvgg"])).make_app()
    async with app.run_test(size=SIZE) as pilot:
        examples, view = app.query_one(ExamplesView), app.query_one(ExplainView)
        await until(pilot, lambda: examples.evaluation is not None and examples.data is not None)
        await pilot.press("x")
        assert app.query_one(TabbedContent).active == "explain" and view.has_focus
        await until(pilot, lambda: view._payload is not None, timeout=60)
        await pilot.pause()
        text = screen_text(app)
        index = examples.selection()[2]
        # The model's own plain pass says what it took the shirt for (not the script's made-up prediction).
        said = view._payload[2]["explanation"].predicted
        assert f"val #{index:,}: Shirt taken for {view._payload[1].class_names[said]}" in text
        assert "IG → Shirt (true)" in text and "(said)" in text and "tinyvgg epoch 3" in text
        await pilot.press("l")
        await until(pilot, lambda: "filters" in view._payload[2], timeout=60)
        await pilot.pause()
        assert "first-layer filters: 16 of 3x3" in screen_text(app)
        await pilot.press("d")
        await until(pilot, lambda: "pair" in view._payload[2], timeout=120)
        await pilot.pause()
        assert "Shirt → T-shirt/top: " in screen_text(app) and "Shirt − T-shirt" in screen_text(app)
