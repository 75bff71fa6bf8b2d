"""`fmtui predict` and the monitor's photo dialog: photos classified by a run's best weights as the model
sees them, in agreement with the run's answer for the original image; bad files are clear errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from textual.widgets import Input, Static
from typer.testing import CliRunner

from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.predict.convert import to_fashion_mnist
from fmtui.core.predict.model import Classifier
from fmtui.tui.cli import app
from fmtui.tui.monitor.launch import make_app
from fmtui.tui.monitor.screens.predict import PredictScreen
from fmtui.tui.monitor.screens.preset_menu import PresetMenu
from tests.predict.photos import pattern_images, photo_like
from tests.support import until
from tests.support.monitor_fakes import drive


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_photos_get_the_class_their_originals_get(pattern_run, tmp_path):
    """On 40 photo-like images of the tiny set's images, the run's prediction for the photo is its prediction
    for the original in at least 90% of cases."""
    rng = np.random.default_rng(2)
    originals = pattern_images(np.repeat(np.arange(10), 4), rng)
    photos = []
    for i, image in enumerate(originals):
        path = tmp_path / (f"{i}.jpg" if i % 2 else f"{i}.png")
        photo_like(image, rng).save(path)
        photos.append(to_fashion_mnist(path))
    classifier = Classifier.from_run(pattern_run)
    agree = classifier.probabilities(originals).argmax(1) == classifier.probabilities(np.stack(photos)).argmax(1)
    assert agree.mean() >= 0.9, agree.mean()


def _photo(tmp_path, label: int = 3, name: str = "coat.png"):
    path = tmp_path / name
    photo_like(pattern_images(np.array([label]), np.random.default_rng(label))[0], np.random.default_rng(0)).save(path)
    return path


def test_predict_json_gives_the_three_likeliest_classes_per_photo(pattern_run, tmp_path):
    """--json lists each photo with three distinct classes, likeliest first, as Classifier ranks them."""
    first, second = _photo(tmp_path, 3, "a.png"), _photo(tmp_path, 7, "b.jpg")
    result = invoke("predict", pattern_run, first, second, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [p["image"] for p in shown["predictions"]] == [str(first), str(second)]
    for prediction, path in zip(shown["predictions"], (first, second)):
        top = prediction["top"]
        assert len({t["class"] for t in top}) == 3 and all(t["class"] in CLASS_NAMES for t in top)
        assert [t["confidence"] for t in top] == sorted((t["confidence"] for t in top), reverse=True)
        expected = Classifier.from_run(pattern_run).guesses(to_fashion_mnist(path)[None])[0].named()
        assert [t["class"] for t in top] == [c for c, _ in expected]
        assert [t["confidence"] for t in top] == pytest.approx([p for _, p in expected], rel=1e-4)


def test_predict_shows_the_picture_the_model_sees_beside_its_guesses(pattern_run, tmp_path):
    """The plain output names the photo and ranks three classes with percentages, beside a 14-line picture."""
    path = _photo(tmp_path)
    result = invoke("predict", pattern_run, path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(str(path) in line for line in lines)
    ranked = [line for line in lines if any(f"{n}. " in line for n in (1, 2, 3))]
    assert len(ranked) == 3 and all("%" in line and "▀" in line for line in ranked)
    assert sum("▀" * 28 in line for line in lines) >= 14


def test_predict_refuses_what_is_not_a_photo_with_exit_2(pattern_run, tmp_path):
    """A text file, an empty file and a missing path each give one clear line and exit 2, no traceback."""
    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (50, 50), (240, 240, 240)).save(tmp_path / "blank.png")
    for name, fragment in (("notes.png", "is not an image"), ("empty.jpg", "is not an image"),
                           ("blank.png", "no garment found"), ("gone.png", "no such file")):
        result = invoke("predict", pattern_run, _photo(tmp_path), tmp_path / name)
        assert result.exit_code == 2, (name, result.output)
        assert fragment in result.stderr and str(tmp_path / name) in result.stderr
        assert "Traceback" not in result.output and result.stdout == "", "nothing half-printed"


def shown(widget: Static) -> str:
    """The text a Static shows, on lines long enough for a temporary folder's path."""
    console = Console(width=400, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


@drive
async def test_the_monitor_classifies_a_photo_from_its_dialog(pattern_run, tmp_path):
    """o opens the photo dialog on the newest run; a path and Enter show the guesses; a bad path says why."""
    path = _photo(tmp_path)
    app_ = make_app(preset=None, runs_dir=pattern_run.parent)
    async with app_.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app_.screen, PresetMenu))
        await pilot.press("escape", "o")
        await until(pilot, lambda: isinstance(app_.screen, PredictScreen))
        assert app_.screen.query_one("#run", Input).value == str(pattern_run)
        app_.screen.query_one("#photo", Input).value = str(path)
        await pilot.press("enter")
        expected = Classifier.from_run(pattern_run).guesses(to_fashion_mnist(path)[None])[0].named()[0][0]
        result = app_.screen.query_one("#result", Static)
        await until(pilot, lambda: f"1. {expected}" in shown(result))
        app_.screen.query_one("#photo", Input).value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        problem = app_.screen.query_one("#problem", Static)
        await until(pilot, lambda: "no such file" in shown(problem))
