"""`fmtui explain` through Typer's runner: the pictures, the numbers, the PNG files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fmtui.core.data.fashion_mnist import load_fashion_mnist
from fmtui.core.explain.attributions import attribute
from fmtui.core.explain.loading import load_model
from fmtui.tui.cli import app
from fmtui.tui.render.heatmap import limit, rgb
from fmtui.tui.render.heatmap_png import LABEL, PAD, ZOOM
from tests.explain.conftest import patch_mask


def invoke(*args):
    return CliRunner().invoke(app, ["explain", *(str(a) for a in args)], catch_exceptions=False)


def test_one_image_is_drawn_with_its_classes_and_both_maps(patch_runs, patch_data):
    """The text view names the classes and shows Grad-CAM and integrated gradients for a CNN."""
    result = invoke(patch_runs["tinyvgg"], "--index", 4, "--data-dir", patch_data)
    assert result.exit_code == 0, result.output
    assert "▀" in result.stdout and "Grad-CAM →" in result.stdout and "IG →" in result.stdout
    assert "integrated gradients" in result.stdout and "feature maps, layer by layer" in result.stdout


def test_json_gives_the_maps_as_numbers_with_the_classes_and_confidences(patch_runs, patch_data):
    """--json: 28x28 lists equal to the maps, the true and predicted classes and the confidence."""
    result = invoke(patch_runs["linear"], "--index", 7, "--data-dir", patch_data, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    data = load_fashion_mnist(patch_data, download=False)
    label = int(data.test_labels[7])
    assert out["true"] == out["class_names"][label] and out["predicted"] == out["true"]
    assert 0.5 < out["confidence"] <= 1 and abs(sum(out["probabilities"].values()) - 1) < 1e-4
    assert set(out["maps"]) == {"ig"}
    toward_true = np.array(out["maps"]["ig"]["true"])
    assert toward_true.shape == (28, 28)
    expected = attribute(load_model(patch_runs["linear"]), data.test_images.numpy()[7:8], [label], "ig")[0]
    np.testing.assert_allclose(toward_true, expected, atol=1e-5)


def test_png_files_hold_the_maps_in_the_terminals_colours(patch_runs, patch_data, tmp_path):
    """--out: the map file, read back, has each map pixel in the colour of its value, the patch warmest."""
    result = invoke(patch_runs["linear"], "--index", 2, "--data-dir", patch_data, "--out", tmp_path / "png")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["test-2-ig.png", "test-2.png"]
    data = load_fashion_mnist(patch_data, download=False)
    label = int(data.test_labels[2])
    values = attribute(load_model(patch_runs["linear"]), data.test_images.numpy()[2:3], [label], "ig")[0]
    sheet = np.asarray(Image.open(tmp_path / "png" / "test-2-ig.png").convert("RGB"))
    tile = sheet[PAD + LABEL:PAD + LABEL + 28 * ZOOM, PAD:PAD + 28 * ZOOM][ZOOM // 2::ZOOM, ZOOM // 2::ZOOM]
    np.testing.assert_array_equal(tile, rgb(values, limit(values)))
    warmth = tile[..., 0].astype(int) + tile[..., 1]
    assert patch_mask(label).flat[int(np.argmax(warmth))]


def test_what_each_model_learned_is_written_as_files(patch_runs, patch_data, tmp_path):
    """Without --index: templates beside class means for the linear model, filters for the CNN."""
    linear = invoke(patch_runs["linear"], "--data-dir", patch_data, "--out", tmp_path)
    assert linear.exit_code == 0, linear.output
    assert "class templates" in linear.stdout and "Trouser" in linear.stdout
    cnn = invoke(patch_runs["tinyvgg"], "--out", tmp_path)
    assert cnn.exit_code == 0, cnn.output
    assert "first-layer filters: 16 of 3x3" in cnn.stdout
    templates, filters = Image.open(tmp_path / "templates.png"), Image.open(tmp_path / "filters.png")
    assert templates.size[0] > 10 * 28 * ZOOM and filters.size[0] > 8 * 3 * 16


def test_a_pair_is_explained_from_its_class_names(patch_runs, patch_data):
    """--pair takes class names as written (a prefix will do) and shows both means and their difference."""
    result = invoke(patch_runs["linear"], "--pair", "trouser,pull", "--data-dir", patch_data, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["true"], out["predicted"]) == ("Trouser", "Pullover")
    assert np.array(out["difference"]).shape == (28, 28) and out["mistakes"] == []


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("args, message", [
    (["{linear}", "--index", "100"], "--index 100: the test split has 100 images, numbered 0 to 99."),
    (["{linear}", "--index", "-1"], "--index -1: the test split has 100 images"),
    (["{linear}", "--pair", "Shirt,Jacket"], "--pair: 'Jacket' is not a class"),
    (["{linear}", "--pair", "Shirt"], "write the true class and the predicted class with a comma"),
    (["{linear}", "--pair", "Shirt,shirt"], "name two different classes"),
    (["{linear}", "--index", "1", "--method", "gradcam"], "the 'linear' model has no convolution for Grad-CAM"),
    (["{linear}", "--method", "lime"], "--method 'lime': not a method; choose one of gradcam, ig, occlusion"),
    (["{linear}", "--index", "1", "--pair", "Shirt,Coat"], "--index and --pair: give one"),
    (["{empty}"], "best.pt"),
    (["{linear}", "--index", "1", "--out", "{file}"], "is a file; give a directory"),
])
def test_bad_input_is_a_clear_message_and_exit_2(args, message, patch_runs, patch_data, tmp_path):
    """Each mistake names the flag or file and what would do; no traceback, no files written."""
    (tmp_path / "empty").mkdir()
    file = _write(tmp_path / "a-file", b"")
    values = {"linear": patch_runs["linear"], "empty": tmp_path / "empty", "file": file}
    result = invoke(*[a.format(**values) for a in args], "--data-dir", patch_data)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "empty"]
