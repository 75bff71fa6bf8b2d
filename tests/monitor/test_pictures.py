"""Images in the terminal: the half-block renderer, which images a cell shows in what order, `eval --errors`."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from fmtui.core.engine.metrics import cell_images, confident_mistakes
from fmtui.tui.cli import app
from fmtui.tui.render.pictures import GREYS, HALF_BLOCK, picture, shrink
from tests.support import make_dataset


def read_back(text) -> np.ndarray:
    """The grey levels a picture drew, one row per pixel row: the upper pixel is the cell's colour, the
    lower its background, as a terminal shows '▀'."""
    console = Console(width=200, color_system="256")
    level = {code: n for n, code in enumerate(GREYS)}
    lines = text.split("\n")
    out = np.zeros((2 * len(lines), max(len(line) for line in lines)), dtype=np.int64)
    for r, line in enumerate(lines):
        assert set(line.plain) == {HALF_BLOCK}
        for c in range(len(line)):
            style = line.get_style_at_offset(console, c)
            out[2 * r, c], out[2 * r + 1, c] = level[style.color.number], level[style.bgcolor.number]
    return out


def known_image() -> np.ndarray:
    """Black, a white square, a mid-grey bar and one pixel per grey step along the top row."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:12, 4:12] = 255
    image[20:23, 2:26] = 128
    image[0, :26] = np.round(np.arange(26) * 255 / 25).astype(np.uint8)
    return image


def test_a_picture_is_14_lines_of_28_half_blocks_in_the_256_colour_greys():
    """Each cell is '▀' with the upper pixel as foreground and the lower as background, from the grey ramp."""
    image = known_image()
    text = picture(image)
    assert len(text.split("\n")) == 14 and all(len(line) == 28 for line in text.split("\n"))
    drawn = read_back(text)
    expected = (image.astype(int) * 25 + 127) // 255  # 26 steps, black 16 to white 231
    assert (drawn == expected).all()
    assert drawn[0, :26].tolist() == list(range(26)), "every step of the ramp is used, in order"
    assert drawn[5, 5] == 25 and drawn[21, 10] == 13 and drawn[27, 27] == 0
    rendered = Console(color_system="256", force_terminal=True, width=40)
    with rendered.capture() as out:
        rendered.print(text)
    assert "38;5;231" in out.get() and "48;5;16" in out.get() and "38;2;" not in out.get(), "no true colour"


def test_a_half_size_picture_averages_each_two_by_two_block():
    """Thumbnails are 7 lines of 14 cells, each pixel the mean of a 2x2 block."""
    image = known_image()
    image[0, :] = 0
    image[0, 0], image[1, 1] = 200, 100  # one block: mean 75
    text = picture(image, half=True)
    assert len(text.split("\n")) == 7 and len(text.split("\n")[0]) == 14
    assert shrink(image, 2)[0, 0] == 75
    assert (read_back(text) == (shrink(image, 2).astype(int) * 25 + 127) // 255).all()


def test_a_cell_lists_mistakes_surest_first_and_correct_images_least_sure_first():
    """Off the diagonal the most confident mistakes lead; on it the near misses do."""
    labels = np.array([6, 6, 6, 6, 0, 6])
    predictions = np.array([0, 0, 6, 6, 0, 0])
    confidences = np.array([0.6, 0.9, 0.8, 0.5, 0.99, 0.9])
    assert cell_images(labels, predictions, confidences, 6, 0).tolist() == [1, 5, 0]  # ties: file order
    assert cell_images(labels, predictions, confidences, 6, 6).tolist() == [3, 2]
    assert cell_images(labels, predictions, confidences, 0, 6).tolist() == []
    assert confident_mistakes(labels, predictions, confidences, 2).tolist() == [1, 5]


@pytest.fixture(scope="module")
def noisy_data(tmp_path_factory) -> Path:
    """Images whose labels are shuffled: whatever the model learns, it makes mistakes to show."""
    return make_dataset(tmp_path_factory.mktemp("noisy-data"), random_labels=True)


@pytest.fixture(scope="module")
def tiny_run(noisy_data, tmp_path_factory) -> Path:
    preset = tmp_path_factory.mktemp("preset") / "tiny.toml"
    preset.write_text('description = "tiny"\nmodel = "linear"\nepochs = 1\nbatch_size = 32\nlr = 0.001\n'
                      'schedule = "constant"\nval_size = 50\ndevice = "cpu"\n')
    result = CliRunner().invoke(app, ["train", "--preset", str(preset), "--data-dir", str(noisy_data), "--runs-dir",
                                      str(tmp_path_factory.mktemp("runs")), "--json"], catch_exceptions=False)
    return Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])


def test_eval_errors_draws_the_surest_mistakes_with_their_labels(tiny_run, noisy_data):
    """`eval --errors 2` draws the two surest mistakes, 14 lines of half blocks each; --json lists them as
    predictions.csv has them."""
    with (tiny_run / "predictions.csv").open() as f:
        mistakes = {int(r["index"]): r for r in csv.DictReader(f) if r["true"] != r["predicted"]}
    surest = sorted((float(r["confidence"]) for r in mistakes.values()), reverse=True)[:2]
    listed = json.loads(CliRunner().invoke(app, ["eval", str(tiny_run), "--data-dir", str(noisy_data), "--json",
                                                 "--errors", "2"]).stdout)["errors"]
    assert [e["confidence"] for e in listed] == pytest.approx(surest, abs=1e-4)
    for e in listed:
        row = mistakes[e["index"]]
        assert (e["true"], e["predicted"], e["true_name"]) == (int(row["true"]), int(row["predicted"]),
                                                              row["true_name"])

    result = CliRunner().invoke(app, ["eval", str(tiny_run), "--data-dir", str(noisy_data), "--errors", "2"],
                                catch_exceptions=False, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "the 2 mistakes the model is surest of:" in out and "F1" in out and "worst class:" in out
    for e in listed:
        assert f"test #{e['index']:,}" in out and f"{math.floor(e['confidence'] * 100)}%" in out
    assert sum(line.count(HALF_BLOCK * 28) for line in out.splitlines()) == 2 * 14


def test_a_confidence_is_never_rounded_up_to_a_certainty():
    """0.9994 shows as 99%, not 100%; only 1.0 is 100%."""
    from fmtui.tui.render.pictures import sure

    assert (sure(0.9994), sure(1.0), sure(0.5)) == ("99%", "100%", "50%")
