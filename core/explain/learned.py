"""What a model learned, read from its weights: a linear model's class templates beside each class's mean
image, a CNN's first-layer filters, and one image's feature maps layer by layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fmtui.core.data.fashion_mnist import SIDE
from fmtui.core.errors import ConfigError
from fmtui.core.explain.loading import LoadedModel


def class_means(images: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """The mean image (classes, 28, 28) of each class, on the 0-255 scale; zeros for a class with no images."""
    means = np.zeros((classes, *images.shape[1:]), dtype=np.float32)
    for c in range(classes):
        members = images[labels == c]
        if len(members):
            means[c] = members.mean(axis=0, dtype=np.float64)
    return means


def pixel_layer(loaded: LoadedModel) -> nn.Linear | None:
    """The layer that weighs each pixel for each class: a linear model's only one (784 in, 10 out)."""
    layers = [m for m in loaded.model.modules() if isinstance(m, nn.Linear)]
    if len(layers) == 1 and layers[0].in_features == SIDE * SIDE and not loaded.convolutions:
        return layers[0]
    return None


def templates(loaded: LoadedModel) -> np.ndarray:
    """The class templates (classes, 28, 28): each class's weight row as the picture it scores images
    against. Positive weights are where that class wants ink, negative ones where it wants none."""
    layer = pixel_layer(loaded)
    if layer is None:
        raise ConfigError(f"the '{loaded.name}' model is not a linear model on the pixels: it has no class "
                          f"templates. Its first-layer filters and feature maps show what it learned instead.")
    return layer.weight.detach().float().cpu().numpy().reshape(-1, SIDE, SIDE).copy()


def first_filters(loaded: LoadedModel) -> np.ndarray:
    """The first convolution's filters (out channels, kh, kw), averaged over input channels when there are
    several (a pretrained network reads the grey image as three equal colour channels)."""
    convolutions = loaded.convolutions
    if not convolutions:
        raise ConfigError(f"the '{loaded.name}' model has no convolution, so it has no filters to show; "
                          f"its class templates show what it learned.")
    return convolutions[0].weight.detach().float().cpu().mean(dim=1).numpy().copy()


@dataclass(frozen=True)
class FeatureMaps:
    """One convolution's output for one image: the channels that respond most, strongest first."""

    layer: str  # the module's name in the model, e.g. 'features.0.0'
    side: int  # its maps' height (and width)
    channels: int  # how many it has in all
    shown: tuple[int, ...]  # the channel numbers of ``maps``
    maps: np.ndarray  # (len(shown), side, side) float32, after the layer


def feature_maps(loaded: LoadedModel, image: np.ndarray, per_layer: int = 4) -> list[FeatureMaps]:
    """Each convolution's strongest ``per_layer`` channels for one uint8 image (28, 28), first layer first.
    Taken after the activation that follows each convolution where the model has one as a module (a
    ReLU), so that the maps show what the next layer is given; otherwise the convolution's own output."""
    named = dict(loaded.model.named_modules())
    order = list(named)
    captured: dict[str, torch.Tensor] = {}
    hooks = []
    convolutions = [name for name, m in named.items() if isinstance(m, nn.Conv2d)]
    if not convolutions:
        raise ConfigError(f"the '{loaded.name}' model has no convolution, so it has no feature maps.")
    for name in convolutions:
        after = _activation_after(named, order, name)
        module = named[after or name]
        hooks.append(module.register_forward_hook(
            lambda _m, _i, out, key=name: captured.__setitem__(key, out.detach().clone())))
    try:
        loaded.logits(image[None])
    finally:
        for hook in hooks:
            hook.remove()
    result = []
    for name in convolutions:
        maps = captured[name][0].float()
        strength = maps.clamp(min=0).mean(dim=(1, 2))
        shown = torch.argsort(strength, descending=True, stable=True)[:per_layer]
        result.append(FeatureMaps(name, int(maps.shape[-1]), int(maps.shape[0]), tuple(int(c) for c in shown),
                                  maps[shown].cpu().numpy()))
    return result


def _activation_after(named: dict[str, nn.Module], order: list[str], conv: str) -> str | None:
    """The ReLU that takes this convolution's output in a Sequential (conv, norm, ReLU), if there is one."""
    start = order.index(conv)
    for name in order[start + 1:start + 4]:
        module = named[name]
        if isinstance(module, nn.Conv2d):
            return None
        if isinstance(module, (nn.ReLU, nn.GELU, nn.SiLU)) and name.rpartition(".")[0] == conv.rpartition(".")[0]:
            # An in-place ReLU returns the same tensor the hook sees; detach() keeps its values as they are.
            return name
    return None


def predicted(loaded: LoadedModel, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's predicted class and the softmax probabilities of every class, from one plain pass."""
    # In slices: a CNN's activations for the whole test split at once would take gigabytes.
    probabilities = np.concatenate([loaded.logits(images[start:start + 1000]).float().softmax(1).numpy()
                                    for start in range(0, len(images), 1000)]) if len(images) else np.zeros((0, 10))
    return probabilities.argmax(1), probabilities

