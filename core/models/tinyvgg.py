"""``tinyvgg``: a small VGG-style CNN, the model that shows what convolutions buy.

Blocks of conv-BN-ReLU, conv-BN-ReLU, max-pool, one per entry of ``widths`` (28x28 -> 14 -> 7 -> 3),
then dropout and a linear head. The article's TinyVGG is widths (32, 64, 128); wider is a preset file.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fmtui.core.models import NUM_CLASSES, ModelSpec


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    def conv_bn_relu(a: int, b: int) -> list[nn.Module]:
        # No conv bias: the BatchNorm that follows has its own.
        return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]

    return nn.Sequential(*conv_bn_relu(c_in, c_out), *conv_bn_relu(c_out, c_out), nn.MaxPool2d(2))


class TinyVGG(nn.Module):
    def __init__(self, dropout: float = 0.0, widths: Sequence[int] = (32, 64, 128)) -> None:
        super().__init__()
        ins = (1, *widths[:-1])
        self.features = nn.Sequential(*[_conv_block(a, b) for a, b in zip(ins, widths)])
        side = 28 >> len(widths)  # each block halves the side, rounding down
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(widths[-1] * side * side, NUM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _summary(config) -> str:
    side = 28 >> len(config.widths)
    return (f"{len(config.widths)} x [conv3x3-BN-ReLU x2, maxpool] ({', '.join(map(str, config.widths))} ch) "
            f"-> dropout -> Linear({config.widths[-1] * side * side}, 10)")


SPEC = ModelSpec(build=lambda config: TinyVGG(config.dropout, config.widths), summary=_summary,
                 channels_last=True)
