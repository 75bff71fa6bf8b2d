"""Where a model looked for one image: its prediction, and an attribution map toward the predicted class
and toward the true class for each method that applies (Grad-CAM for CNNs, a model-agnostic map for all)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmtui.core.errors import ConfigError
from fmtui.core.explain.attributions import attribute, methods_for
from fmtui.core.explain.learned import predicted
from fmtui.core.explain.loading import LoadedModel


@dataclass(frozen=True)
class ImageExplanation:
    index: int  # in the split
    image: np.ndarray  # uint8 (28, 28)
    true: int
    predicted: int
    probabilities: np.ndarray  # (classes,) from one plain pass
    maps: dict[str, tuple[np.ndarray, np.ndarray]]  # method -> (map toward predicted, map toward true)

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted])


def check_index(index: int, count: int, split: str = "test", *, flag: str = "--index") -> int:
    if not 0 <= index < count:
        raise ConfigError(f"{flag} {index}: the {split} split has {count:,} images, numbered 0 to {count - 1:,}.")
    return index


def explain_image(loaded: LoadedModel, images: np.ndarray, labels: np.ndarray, index: int,
                  methods: tuple[str, ...] | None = None) -> ImageExplanation:
    """Explain image ``index`` of a split (uint8 images (N, 28, 28) and their labels)."""
    check_index(index, len(images))
    image, true = np.asarray(images[index]), int(labels[index])
    chosen, probabilities = predicted(loaded, image[None])
    guess = int(chosen[0])
    maps = {}
    for method in methods or methods_for(loaded):
        both = attribute(loaded, np.stack([image, image]), [guess, true], method)
        maps[method] = (both[0], both[1])
    return ImageExplanation(index, image, true, guess, probabilities[0], maps)
