"""`fmtui export --format onnx`: the best weights with the input scaling built in, pixels 0-255 in, any
batch size, class names as metadata; onnxruntime gives fmtui's own predictions; no extra, a clear error."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fmtui.core.data import splits
from fmtui.core.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from fmtui.core.engine.evaluation import evaluate_checkpoint
from fmtui.core.export import class_names, export_onnx, run_onnx
from fmtui.core.predict.model import Classifier
from fmtui.core.records.checkpoints import load_checkpoint
from fmtui.tui.cli import app

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install '.[onnx]')")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_the_exported_model_predicts_what_fmtui_predicts_on_the_test_split(pattern_run, pattern_data, tmp_path):
    """`fmtui export` writes FILE; onnxruntime on the test split's raw pixels (0-255) gives `fmtui eval`'s
    predictions, for every image, and names the classes in order."""
    out = tmp_path / "model.onnx"
    result = invoke("export", pattern_run, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and out.is_file() and list(tmp_path.iterdir()) == [out]
    test = splits.test_split(load_fashion_mnist(pattern_data, download=False), torch.device("cpu"))
    ours = evaluate_checkpoint(load_checkpoint(pattern_run), test, torch.device("cpu"))
    logits, probabilities = run_onnx(out, test.images.float().numpy().reshape(-1, 1, 28, 28))
    assert (logits.argmax(1) == ours.predictions).all()
    assert probabilities.sum(1) == pytest.approx(np.ones(len(logits)), abs=1e-5)
    assert class_names(out) == list(CLASS_NAMES)


def test_any_batch_size_and_mirror_averaging_match_the_run(pattern_run, tmp_path):
    """The batch is dynamic (1 and 7 images), and a run evaluated with tta_flip exports its averaging too:
    the probabilities are fmtui's own for the same pixels."""
    checkpoint = load_checkpoint(pattern_run)
    for tta in (False, True):
        flipped = replace(checkpoint, config=replace(checkpoint.config, tta_flip=tta))
        exported = export_onnx(flipped, tmp_path / f"tta-{tta}.onnx")
        pixels = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
        expected = Classifier(flipped).probabilities(pixels)
        for batch in (pixels[:1], pixels):
            _, probabilities = run_onnx(exported.path, batch.astype(np.float32)[:, None])
            assert probabilities == pytest.approx(expected[:len(batch)], abs=1e-5)


def test_the_default_file_is_the_run_id_in_the_current_folder(pattern_run, tmp_path, monkeypatch):
    """Without --out, the model goes to RUN_ID.onnx where fmtui runs; the metadata says what the input is."""
    monkeypatch.chdir(tmp_path)
    result = invoke("export", pattern_run)
    assert result.exit_code == 0, result.output
    import onnxruntime

    meta = onnxruntime.InferenceSession(str(tmp_path / f"{pattern_run.name}.onnx")).get_modelmeta()
    assert "0-255" in meta.custom_metadata_map["input"] and meta.custom_metadata_map["fmtui_preset"] == "patterns"
    assert json.loads(meta.custom_metadata_map["class_names"]) == list(CLASS_NAMES)


def test_without_the_extra_export_says_what_to_install(pattern_run, tmp_path, monkeypatch):
    """With onnx missing, exit 2 and a line naming the extra to install; nothing is written."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    result = invoke("export", pattern_run, "--out", tmp_path / "model.onnx")
    assert result.exit_code == 2, result.output
    assert "pip install 'fmtui[onnx]'" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_out_in_a_missing_folder_is_refused(pattern_run, tmp_path):
    """--out in a folder that does not exist: exit 2 naming it, nothing written."""
    result = invoke("export", pattern_run, "--out", tmp_path / "nowhere" / "model.onnx")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "nowhere").exists()
