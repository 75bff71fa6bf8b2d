"""A data set where the answer is known, and a linear and a TinyVGG run trained on it.

Each class is a bright 6x6 patch at a place of its own over dim noise: nothing else tells the classes
apart, so a model that has learned them must look at the patch, and its maps must say so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import raw_dir
from tests.support import run_trainer, write_idx

PATCH = 6
# Ten places on a 4x3 grid (the last two spots unused), away from the edges a convolution pads.
PLACES = [(2 + 9 * (k // 4), 2 + 6 * (k % 4)) for k in range(10)]


def patch_mask(label: int) -> np.ndarray:
    """Where class ``label``'s patch is: True inside it."""
    mask = np.zeros((28, 28), dtype=bool)
    top, left = PLACES[label]
    mask[top:top + PATCH, left:left + PATCH] = True
    return mask


def patch_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, 50, size=(len(labels), 28, 28))
    for i, label in enumerate(labels):
        images[i][patch_mask(int(label))] = rng.integers(200, 256, size=PATCH * PATCH)
    return images.astype(np.uint8)


@pytest.fixture(scope="session")
def patch_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 training and 100 test images, the class decided by where its bright patch is."""
    root = tmp_path_factory.mktemp("patch-data")
    rng = np.random.default_rng(0)
    for prefix, per_class in (("train", 60), ("t10k", 10)):
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        write_idx(raw_dir(root) / f"{prefix}-images-idx3-ubyte", patch_images(labels, rng))
        write_idx(raw_dir(root) / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def _config(model: str, **settings) -> TrainConfig:
    # No flips, shifts or mirrored evaluation: each would move the patch the class is decided by.
    return replace(TrainConfig(), preset=f"patch-{model}", model=model, batch_size=32, schedule="constant",
                   val_size=50, device="cpu", flip=False, shift=0, tta_flip=False, label_smoothing=0.0,
                   dropout=0.0, weight_decay=0.0, patience=0, **settings)


@pytest.fixture(scope="session")
def patch_runs(patch_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A linear and a TinyVGG run trained on the patch data until they tell the classes apart."""
    runs_dir = tmp_path_factory.mktemp("patch-runs")
    runs = {}
    for model, settings in (("linear", {"epochs": 8, "lr": 0.01}),
                            ("tinyvgg", {"epochs": 3, "lr": 0.003, "widths": (16, 32, 64)})):
        outcome, _ = run_trainer(_config(model, **settings), patch_data, runs_dir)
        assert outcome.test_accuracy is not None and outcome.test_accuracy >= 0.9, (model, outcome)
        runs[model] = outcome.run_dir
    return runs
