"""The splits a run trains, validates and tests on, held as tensors on the run's device, and their batches.

The validation split is a stratified hold-out of the training images, drawn with a fixed seed so a
resume and every run of a preset hold out the same images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from fmtui.core.data.fashion_mnist import MEAN, SPLIT_SEED, STD, FashionMNIST
from fmtui.core.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Images (N, 1, 28, 28) uint8 and labels (N,) int64, resident on the training device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Splits:
    train: Split
    val: Split
    test: Split


def make_splits(data: FashionMNIST, *, val_size: int, train_subset: int, batch_size: int,
                device: torch.device) -> Splits:
    """Hold out a stratified validation split and move everything to ``device`` once."""
    n = len(data.train_labels)
    labels = data.train_labels.numpy()
    # A stratified split puts at least one image of each class on either side of it.
    least = _classes(labels) if _stratify(labels) is not None else 1
    if val_size >= n:
        raise ConfigError(f"val_size = {val_size:,} is not smaller than the training file's {n:,} images: "
                          f"lower val_size in the preset.")
    if val_size < least or n - val_size < least:
        side = "validation" if val_size < least else "training"
        raise ConfigError(f"val_size = {val_size:,} leaves the {side} split of the training file's {n:,} images "
                          f"with fewer images than its {least} classes: choose a val_size between {least:,} "
                          f"and {n - least:,}.")
    train_idx, val_idx = train_test_split(np.arange(n), test_size=val_size, stratify=_stratify(labels),
                                          random_state=SPLIT_SEED)
    if train_subset and train_subset < len(train_idx):
        least = _classes(labels[train_idx]) if _stratify(labels[train_idx]) is not None else 1
        if train_subset < least or len(train_idx) - train_subset < least:
            raise ConfigError(f"train_subset = {train_subset:,} cannot be drawn class by class from the "
                              f"{len(train_idx):,} training images: choose between {least:,} and "
                              f"{len(train_idx) - least:,}, or 0 for all of them.")
        train_idx, _ = train_test_split(train_idx, train_size=train_subset,
                                        stratify=_stratify(labels[train_idx]), random_state=SPLIT_SEED)
    if batch_size > len(train_idx):
        raise ConfigError(f"batch_size = {batch_size:,} is larger than the training split "
                          f"({len(train_idx):,} images): lower --batch-size or batch_size in the preset.")

    def put(images: torch.Tensor, labels: torch.Tensor, index: np.ndarray) -> Split:
        index = torch.from_numpy(np.sort(index))
        return Split(images[index].unsqueeze(1).to(device), labels[index].to(device))

    return Splits(train=put(data.train_images, data.train_labels, train_idx),
                  val=put(data.train_images, data.train_labels, val_idx),
                  test=test_split(data, device))


def test_split(data: FashionMNIST, device: torch.device) -> Split:
    """The 10,000 test images, whole and in file order, on ``device``."""
    return Split(data.test_images.unsqueeze(1).to(device), data.test_labels.to(device))


def _classes(labels: np.ndarray) -> int:
    return int((np.bincount(labels) > 0).sum())
def shared_pixels(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """A split's images (N, 28, 28) and labels as read-only numpy arrays, for views of single images:
    views of the split's own memory on a CPU (no copy), one copy from a GPU."""

    def read_only(tensor: torch.Tensor) -> np.ndarray:
        array = tensor.cpu().numpy()
        array.flags.writeable = False  # shared with the monitor: nobody may write into the training data
        return array

    return read_only(split.images.squeeze(1)), read_only(split.labels)


def _stratify(labels: np.ndarray) -> np.ndarray | None:
    # Stratifying needs at least two images of every class; tiny test files may not have them.
    present = np.bincount(labels)
    present = present[present > 0]
    return labels if len(present) > 1 and present.min() >= 2 else None


def batches(split: Split, batch_size: int, *, generator: torch.Generator | None = None,
            drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (uint8 images, labels) batches; shuffled when given a generator."""
    n = len(split)
    if generator is not None:
        order = torch.randperm(n, generator=generator).to(split.labels.device)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield split.images[start:start + batch_size], split.labels[start:start + batch_size]
        else:
            index = order[start:start + batch_size]
            yield split.images[index], split.labels[index]


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 or [0, 1] float images to the zero-mean, unit-variance inputs the models expect."""
    if images.dtype == torch.uint8:
        images = images.float().div_(255)
    return (images - MEAN) / STD
