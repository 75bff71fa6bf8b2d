"""The models fmtui trains, chosen by name from ``MODELS``.

``linear`` is softmax regression on the 784 pixels: the baseline. ``tinyvgg`` is a small VGG-style
CNN (three conv-conv-pool blocks with BatchNorm): the model that shows what convolutions buy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from core.config import TrainConfig

NUM_CLASSES = 10


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    def conv_bn_relu(a: int, b: int) -> list[nn.Module]:
        # No conv bias: the BatchNorm that follows has its own.
        return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]

    return nn.Sequential(*conv_bn_relu(c_in, c_out), *conv_bn_relu(c_out, c_out), nn.MaxPool2d(2))


class TinyVGG(nn.Module):
    """28x28 -> 14x14 -> 7x7 -> 3x3 feature maps with 32, 64 and 128 channels, then a linear head."""

    def __init__(self, dropout: float = 0.0, channels: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(_conv_block(1, c1), _conv_block(c1, c2), _conv_block(c2, c3))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c3 * 3 * 3, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Linear(nn.Module):
    """Softmax regression: one weight per pixel and class."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(28 * 28, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[TrainConfig], nn.Module]
    summary: str
    # channels_last speeds up convolutions (oneDNN on CPUs, tensor cores on GPUs); pointless without them.
    channels_last: bool


MODELS: dict[str, ModelSpec] = {
    "linear": ModelSpec(lambda config: Linear(), "flatten -> Linear(784, 10)", channels_last=False),
    "tinyvgg": ModelSpec(lambda config: TinyVGG(config.dropout),
                         "3 x [conv3x3-BN-ReLU x2, maxpool] (32, 64, 128 ch) -> dropout -> Linear(1152, 10)",
                         channels_last=True),
}


def build_model(config: TrainConfig) -> nn.Module:
    """A freshly initialised model for ``config.model``; seed torch first for reproducible weights."""
    return MODELS[config.model].build(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
