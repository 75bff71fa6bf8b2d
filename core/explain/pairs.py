"""What separates two classes a model confuses (Shirt taken for T-shirt/top): the two classes' mean
images, their difference, and the model's average attribution map over that cell's mistakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fmtui.core.explain.attributions import attribute
from fmtui.core.explain.learned import class_means, predicted
from fmtui.core.explain.loading import LoadedModel

MOST_MISTAKES = 100  # averaged over at most this many (the surest first): a CNN's maps take ~70 ms each


@dataclass(frozen=True)
class PairExplanation:
    true: int
    predicted: int
    mean_true: np.ndarray  # (28, 28) on the 0-255 scale
    mean_predicted: np.ndarray
    difference: np.ndarray  # mean_true - mean_predicted: positive where the true class has more ink
    method: str
    mistakes: np.ndarray  # indices into the split of the images of ``true`` predicted as ``predicted``
    averaged: int  # how many of them the map averages (the surest first)
    average_map: np.ndarray | None  # (28, 28) the mean map toward the predicted class; None with no mistakes
    mistake_mean: np.ndarray | None  # (28, 28) the mean image of those mistakes


def cell_mistakes(labels: np.ndarray, predictions: np.ndarray, confidences: np.ndarray,
                  true: int, predicted_class: int) -> np.ndarray:
    """The images of class ``true`` predicted as ``predicted_class``, the surest mistakes first."""
    members = np.flatnonzero((labels == true) & (predictions == predicted_class))
    return members[np.argsort(-confidences[members], kind="stable")]


def explain_pair(loaded: LoadedModel, images: np.ndarray, labels: np.ndarray, true: int, predicted_class: int,
                 method: str, *, means_from: tuple[np.ndarray, np.ndarray] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> PairExplanation:
    """Explain the cell (``true``, ``predicted_class``) of the model's confusion matrix on ``images``
    (a test split, uint8 (N, 28, 28)), with its own plain predictions. ``means_from``: (images, labels)
    to take the class means from, the training split say; by default ``images`` themselves."""
    chosen, probabilities = predicted(loaded, images)
    confidences = probabilities[np.arange(len(chosen)), chosen]
    mistakes = cell_mistakes(labels, chosen, confidences, true, predicted_class)
    source, source_labels = means_from if means_from is not None else (images, labels)
    means = class_means(source[np.isin(source_labels, (true, predicted_class))],
                        source_labels[np.isin(source_labels, (true, predicted_class))], len(loaded.class_names))
    used = mistakes[:MOST_MISTAKES]
    average_map = mistake_mean = None
    if len(used):
        maps = attribute(loaded, images[used], np.full(len(used), predicted_class), method, progress=progress)
        average_map = maps.mean(axis=0)
        mistake_mean = images[used].mean(axis=0, dtype=np.float64).astype(np.float32)
    return PairExplanation(true, predicted_class, means[true], means[predicted_class],
                           means[true] - means[predicted_class], method, mistakes, len(used), average_map,
                           mistake_mean)
