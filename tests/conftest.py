"""Shared fixtures: tiny FashionMNIST-shaped data written by the tests themselves, and processes that
never outlive their test."""

from __future__ import annotations

import multiprocessing
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import raw_dir
from tests.support import make_dataset

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_real_data = pytest.mark.skipif(
    not (raw_dir(REAL_DATA) / "train-images-idx3-ubyte").is_file(),
    reason=f"the full FashionMNIST is not at {REAL_DATA} (CI and development machines have it there)")


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
