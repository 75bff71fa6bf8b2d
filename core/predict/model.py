"""A run's best weights, ready to classify single images as `fmtui eval` scores the test split: the same
scaling and normalisation, mirror-image averaging where the run's config asks for it, on the CPU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.errors import RecordError
from fmtui.core.models import build_model
from fmtui.core.records.checkpoints import Checkpoint, load_checkpoint

if TYPE_CHECKING:
    from torch import nn


def checkpoint_model(checkpoint: Checkpoint) -> nn.Module:
    """The model the checkpoint's config names, with its weights, in eval mode on the CPU."""
    import torch

    model = build_model(checkpoint.config)
    try:
        model.load_state_dict(checkpoint.state_dict)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1:2] or [str(exc)]
        raise RecordError(f"{checkpoint.path}: its weights do not fit the '{checkpoint.config.model}' model its "
                          f"config names ({first[0].strip()}). Use a best.pt as a run wrote it.") from None
    return model.to(torch.device("cpu")).eval()


@dataclass(frozen=True)
class Guess:
    """The likeliest classes for one image, likeliest first."""

    classes: tuple[int, ...]
    confidences: tuple[float, ...]

    def named(self) -> list[tuple[str, float]]:
        return [(CLASS_NAMES[c], p) for c, p in zip(self.classes, self.confidences)]


class Classifier:
    """A checkpoint's model and how its run evaluated it."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.model = checkpoint_model(checkpoint)
        self.tta_flip = checkpoint.config.tta_flip

    @classmethod
    def from_run(cls, path: Path) -> Classifier:
        """From a best.pt or the run directory holding it."""
        return cls(load_checkpoint(path))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Softmax scores (N, 10) for uint8 images (N, 28, 28), exactly as evaluation computes them."""
        import torch

        from fmtui.core.data.splits import normalize

        with torch.inference_mode():
            x = normalize(torch.as_tensor(np.ascontiguousarray(images))[:, None].float().div_(255))
            logits = self.model(x)
            if self.tta_flip:
                logits = (logits + self.model(x.flip(3))) / 2
            return logits.float().softmax(1).numpy()

    def guesses(self, images: np.ndarray, top: int = 3) -> list[Guess]:
        scores = self.probabilities(images)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :top]
        return [Guess(tuple(int(c) for c in row), tuple(float(s[c]) for c in row)) for row, s in zip(order, scores)]
