"""What the test modules share: running a trainer, tiny data files, presets, and waiting for a condition."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import raw_dir
from fmtui.core.engine.events import Event
from fmtui.core.engine.trainer import Outcome, Trainer


def run_trainer(config: TrainConfig, data_dir: Path, runs_dir: Path, **kwargs: Any) -> tuple[Outcome, list[Event]]:
    """Run a trainer to the end on its worker thread; return its outcome and every event it emitted."""
    trainer = Trainer(config, data_dir=data_dir, runs_dir=runs_dir, **kwargs)
    events: list[Event] = []
    trainer.subscribe(events.append)
    trainer.start()
    outcome = trainer.wait(timeout=300)
    assert outcome is not None, "the run did not end within 5 minutes"
    assert not trainer.bus.errors, trainer.bus.errors
    return outcome, events


def kinds(events: list[Event]) -> list[str]:
    return [e.kind() for e in events]


def tiny_preset(description: str = "tiny linear run for tests", **settings: Any) -> str:
    """A preset file's text for the tiny data: a linear model that trains in well under a second an epoch."""
    values = {"description": description, "model": "linear", "batch_size": 10, "lr": 0.01,
              "schedule": "constant", "val_size": 50, "device": "cpu", **settings}
    return "".join(f'{key} = "{value}"\n' if isinstance(value, str) else f"{key} = {value}\n"
                   for key, value in values.items())


async def until(pilot, condition, timeout: float = 60.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.02)


def wait_for(condition, timeout: float = 60.0) -> None:
    """Wait, outside an app, until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


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


def nobody(why_root: str = "switching users needs root"):
    """The password entry of the user nobody, for tests that act as another user; skips the test, with
    the reason, where this process cannot switch to it."""
    import pwd

    import pytest

    if os.getuid() != 0:
        pytest.skip(why_root)
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user to switch to")


def become(user) -> None:
    """In a forked child: drop every group, then become ``user`` (a password entry) for good."""
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
