"""A tiny trained run for the predict and export tests: garment-like patterns whose class survives the
photo round trip (tests/predict/photos.py), learnt by a small CNN in a few seconds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import raw_dir
from tests.predict.photos import pattern_images
from tests.support import run_trainer, write_idx


def pattern_dataset(root: Path, per_class: int = 30) -> Path:
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        write_idx(raw_dir(root) / f"{prefix}-images-idx3-ubyte", pattern_images(labels, rng))
        write_idx(raw_dir(root) / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture(scope="session")
def pattern_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pattern_dataset(tmp_path_factory.mktemp("pattern-data"))


@pytest.fixture(scope="session")
def pattern_run(pattern_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tinyvgg run (one narrow block) on the pattern data; no mirror-image averaging: some patterns
    are mirror images of others."""
    config = replace(TrainConfig(), preset="patterns", model="tinyvgg", widths=(4,), epochs=4, batch_size=20,
                     lr=0.01, schedule="constant", val_size=50, device="cpu")
    outcome, _ = run_trainer(config, pattern_data, tmp_path_factory.mktemp("pattern-runs"))
    assert outcome.status == "finished" and outcome.test_accuracy > 0.9, outcome
    return outcome.run_dir
