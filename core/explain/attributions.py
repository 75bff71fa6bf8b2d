"""Where a model looked: attribution maps over the 28x28 image for a chosen class, computed by Captum.

Two kinds, from one table. Grad-CAM (on the last convolution, upsampled to the image) for models that
have one; and model-agnostic maps for every model, the linear one included, so that two models can be
compared on the same picture: integrated gradients (the default), occlusion and plain input gradients.
Maps are attributions to the class's logit, positive where a pixel speaks for the class; the baseline
that integrated gradients and occlusion compare against is a black image (no ink).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from fmtui.core.data.fashion_mnist import MEAN, STD
from fmtui.core.errors import ConfigError
from fmtui.core.explain.loading import LoadedModel, inputs

BATCH = 64  # images attributed together: the integrated-gradients steps multiply it


@dataclass(frozen=True)
class Method:
    name: str
    title: str  # how the views name it
    short: str  # in a picture's 28-cell caption
    convolutional: bool  # needs a convolution (Grad-CAM)
    compute: Callable[[LoadedModel, torch.Tensor, torch.Tensor], torch.Tensor]
    about: str  # one line for --help and the docs


BLACK = -MEAN / STD  # a black pixel as the models see it (normalised)


def _gradcam(loaded: LoadedModel, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(loaded.model, loaded.convolutions[-1]).attribute(x, target=targets, relu_attributions=True)
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")


def _integrated_gradients(loaded: LoadedModel, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    from captum.attr import IntegratedGradients

    # 16 steps: the attributions' sum is then within a few percent of the logit's change (Captum's
    # convergence delta, checked in the tests), at a sixth of the default 50 steps' time.
    return IntegratedGradients(loaded.model).attribute(x, baselines=BLACK, target=targets, n_steps=16,
                                                       internal_batch_size=BATCH * 4)


def _occlusion(loaded: LoadedModel, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    from captum.attr import Occlusion

    # A 4x4 window moved 2 pixels at a time: about a garment's seam or collar, 169 passes per image.
    return Occlusion(loaded.model).attribute(x, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2),
                                             baselines=BLACK, target=targets,
                                             perturbations_per_eval=64)


def _saliency(loaded: LoadedModel, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    from captum.attr import Saliency

    return Saliency(loaded.model).attribute(x, target=targets, abs=True)


METHODS = {m.name: m for m in (
    Method("gradcam", "Grad-CAM", "Grad-CAM", True, _gradcam,
           "Grad-CAM on the last convolution: which regions of its feature maps raised the class's score (CNNs)."),
    Method("ig", "integrated gradients", "IG", False, _integrated_gradients,
           "Integrated gradients from a black image: how much each pixel's ink added to the class's score."),
    Method("occlusion", "occlusion", "occlusion", False, _occlusion,
           "Occlusion: how much the class's score falls when a 4x4 patch is blacked out."),
    Method("saliency", "input gradients", "gradient", False, _saliency,
           "Input gradients (saliency): how sensitive the class's score is to each pixel, either way."),
)}
AGNOSTIC = tuple(name for name, m in METHODS.items() if not m.convolutional)


def check_method(loaded: LoadedModel, name: str, *, flag: str = "--method") -> Method:
    """The method called ``name``, where it applies to this model; ConfigError saying why not otherwise."""
    method = METHODS.get(name)
    if method is None:
        raise ConfigError(f"{flag} {name!r}: not a method; choose one of {', '.join(METHODS)}.")
    if method.convolutional and not loaded.convolutions:
        raise ConfigError(f"{flag} {name}: the '{loaded.name}' model has no convolution for {method.title} to "
                          f"look at; use one of {', '.join(AGNOSTIC)}, which work for every model.")
    return method


def methods_for(loaded: LoadedModel, agnostic: str = "ig") -> tuple[str, ...]:
    """The maps shown for this model: the model-agnostic one first (every model has it, so two models
    compare on it), then Grad-CAM where the model has a convolution."""
    return (agnostic,) + (("gradcam",) if loaded.convolutions else ())


def attribute(loaded: LoadedModel, images: np.ndarray, targets: np.ndarray | list[int], method: str,
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Maps (N, 28, 28) float32 for uint8 images (N, 28, 28), each toward its own target class.
    ``progress(done, total)`` is told after each batch of images."""
    chosen = check_method(loaded, method)
    targets = torch.as_tensor(np.asarray(targets, dtype=np.int64))
    out = []
    total = len(images)
    for start in range(0, total, BATCH):
        x = inputs(images[start:start + BATCH]).requires_grad_(True)
        with torch.enable_grad():
            maps = chosen.compute(loaded, x, targets[start:start + BATCH])
        out.append(maps.detach().float().sum(dim=1).cpu().numpy())  # channels: the one grey channel
        if progress is not None:
            progress(min(start + BATCH, total), total)
    return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), dtype=np.float32)


def share_inside(attribution: np.ndarray, mask: np.ndarray) -> float:
    """The share of a map's positive weight that falls inside ``mask``: 1.0 when all of it does."""
    positive = np.clip(attribution, 0, None)
    total = float(positive.sum())
    return float(positive[mask].sum()) / total if total > 0 else 0.0
