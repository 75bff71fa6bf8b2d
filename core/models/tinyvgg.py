"""``tinyvgg``: a small VGG-style CNN, the model that shows what convolutions buy.

Blocks of conv-BN-ReLU, conv-BN-ReLU, max-pool, one per entry of ``widths`` (28x28 -> 14 -> 7 -> 3),
then dropout and a linear head. The article's TinyVGG is widths (32, 64, 128); wider is a preset file.
``convs`` sets the conv layers of each block (two by default): the 28x28 block's second layer costs
as much time as the whole 7x7 block, so a preset sized for a CPU can give that block one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fmtui.core.errors import ConfigError
from fmtui.core.models import NUM_CLASSES, ModelSpec


def convs_per_block(widths: Sequence[int], convs: Sequence[int]) -> tuple[int, ...]:
    """The conv layers of each block: ``convs``, or two each (the article's) where it is empty."""
    return tuple(convs) or (2,) * len(widths)


def _conv_block(c_in: int, c_out: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a in (c_in, *[c_out] * (convs - 1)):
        # No conv bias: the BatchNorm that follows has its own.
        layers += [nn.Conv2d(a, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class TinyVGG(nn.Module):
    def __init__(self, dropout: float = 0.0, widths: Sequence[int] = (32, 64, 128),
                 convs: Sequence[int] = ()) -> None:
        super().__init__()
        convs = convs_per_block(widths, convs)
        if len(convs) != len(widths):
            raise ConfigError(f"convs = {list(convs)}: tinyvgg needs one entry per block of widths = "
                              f"{list(widths)}.")
        ins = (1, *widths[:-1])
        self.features = nn.Sequential(*[_conv_block(a, b, n) for a, b, n in zip(ins, widths, convs)])
        side = 28 >> len(widths)  # each block halves the side, rounding down
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(widths[-1] * side * side, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _summary(config) -> str:
    side = 28 >> len(config.widths)
    convs = convs_per_block(config.widths, config.convs)
    layers = "x2" if set(convs) == {2} else "x" + "/".join(map(str, convs))
    return (f"{len(config.widths)} x [conv3x3-BN-ReLU {layers}, maxpool] ({', '.join(map(str, config.widths))} ch) "
            f"-> dropout -> Linear({config.widths[-1] * side * side}, 10)")


SPEC = ModelSpec(build=lambda config: TinyVGG(config.dropout, config.widths, config.convs), summary=_summary,
                 channels_last=True)
