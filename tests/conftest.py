"""Shared fixtures: tiny FashionMNIST-shaped IDX files, written by the tests themselves."""

from __future__ import annotations

import multiprocessing
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import raw_dir

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_real_data = pytest.mark.skipif(
    not (raw_dir(REAL_DATA) / "train-images-idx3-ubyte").is_file(),
    reason=f"the full FashionMNIST is not at {REAL_DATA} (CI and development machines have it there)")


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 images (N, 28, 28) or labels (N,) in the IDX format torchvision reads."""
    magic = 0x00000803 if array.ndim == 3 else 0x00000801
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
                     + array.astype(np.uint8).tobytes())


def synthetic_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy images whose class is a bright band at a class-specific height: learnable in a few steps."""
    images = rng.integers(0, 60, size=(len(labels), 28, 28))
    for i, label in enumerate(labels):
        top = 2 + 2 * int(label)
        images[i, top:top + 3, 4:24] = rng.integers(180, 256, size=(3, 20))
    return images.astype(np.uint8)


def make_dataset(root: Path, train_per_class: int = 40, test_per_class: int = 10, seed: int = 0,
                 random_labels: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    raw = raw_dir(root)
    for prefix, per_class in (("train", train_per_class), ("t10k", test_per_class)):
        labels = rng.permutation(np.repeat(np.arange(10), per_class))
        images = synthetic_images(labels, rng)
        if random_labels:  # images no longer predict labels: validation loss can only get worse
            labels = rng.permutation(labels)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 training and 100 test images, 10 classes, balanced."""
    return make_dataset(tmp_path_factory.mktemp("tiny-data"))


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A linear model that trains on the tiny data in well under a second."""
    return replace(TrainConfig(), preset="tiny", model="linear", epochs=3, batch_size=32, lr=0.01,
                   schedule="constant", val_size=50, device="cpu")


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def end_process(process: Any) -> None:
    """Kill a subprocess.Popen or multiprocessing.Process that is still running, and reap it."""
    if isinstance(process, subprocess.Popen):
        if process.poll() is None:
            process.kill()
        process.wait(30)
    elif process.is_alive():
        process.kill()
        process.join(30)


@pytest.fixture
def spawned() -> Iterator[list]:
    """Append each process a test starts: whatever happens in the test, none outlives it."""
    started: list = []
    try:
        yield started
    finally:
        for process in started:
            end_process(process)


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    """A multiprocessing child left running would make pytest wait for it at exit, forever."""
    yield
    for child in multiprocessing.active_children():
        end_process(child)
