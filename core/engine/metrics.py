"""Classification metrics, computed with scikit-learn from labels and predictions.

scikit-learn is imported where a report is computed, not with this module: the monitor's widgets use
the small helpers below, and its first screen should not wait a second for scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Report:
    accuracy: float
    confusion: np.ndarray  # (classes, classes); rows are true classes, columns predictions
    precision: np.ndarray  # per class
    recall: np.ndarray  # per class
    f1: np.ndarray  # per class: the harmonic mean of the two, so one number ranks the classes


def classification_report(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> Report:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    classes = np.arange(num_classes)
    confusion = confusion_matrix(labels, predictions, labels=classes)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0)
    accuracy = float(np.trace(confusion) / max(confusion.sum(), 1))
    return Report(accuracy, confusion, precision, recall, f1)


def worst_class(f1: np.ndarray | list) -> int | None:
    """The class with the lowest F1 (the first of equals), or None when there are no classes."""
    return int(np.argmin(f1)) if len(f1) else None


def most_confused(confusion: np.ndarray | list, k: int = 3) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true class, predicted class, count), largest first."""
    cm = np.asarray(confusion).copy()
    np.fill_diagonal(cm, 0)
    order = np.argsort(cm, axis=None, kind="stable")[::-1][:k]
    pairs = [(int(i), int(j), int(cm[i, j])) for i, j in zip(*np.unravel_index(order, cm.shape))]
    return [p for p in pairs if p[2] > 0]


def cell_images(labels: np.ndarray, predictions: np.ndarray, confidences: np.ndarray,
                true: int, predicted: int) -> np.ndarray:
    """Indices of the images of class ``true`` predicted as ``predicted``, in the order worth looking at:
    on the diagonal the least confident first (the near misses), elsewhere the most confident first
    (the mistakes the model is surest of)."""
    members = np.flatnonzero((np.asarray(labels) == true) & (np.asarray(predictions) == predicted))
    sureness = np.asarray(confidences)[members]
    order = np.argsort(sureness if true == predicted else -sureness, kind="stable")
    return members[order]


def confident_mistakes(labels: np.ndarray, predictions: np.ndarray, confidences: np.ndarray,
                       n: int) -> np.ndarray:
    """Indices of the ``n`` most confident mistakes over every class, the surest first (ties: lower index)."""
    wrong = np.flatnonzero(np.asarray(labels) != np.asarray(predictions))
    order = np.argsort(-np.asarray(confidences)[wrong], kind="stable")
    return wrong[order][:max(n, 0)]
