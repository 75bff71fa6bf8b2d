"""``resnet``: a residual network for 28x28 grey images, with optional squeeze-and-excitation.

A 3x3 stem, then one stage per entry of ``widths`` holding ``blocks`` basic residual blocks (two
3x3 conv-BN pairs and a shortcut); every stage after the first halves the side (28 -> 14 -> 7 -> 4).
Global average pooling and dropout feed a linear head. "Deeper" and "wider" are preset files:
``blocks`` and ``widths`` are settings. ``se = true`` recalibrates each block's channels by a
squeeze-and-excitation gate (Hu et al., 2018) before the residual sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from fmtui.core.errors import ConfigError
from fmtui.core.models import NUM_CLASSES, ModelSpec

SE_REDUCTION = 8  # channels / reduction hidden units in each gate, as small blocks need more than /16


class SqueezeExcite(nn.Module):
    """Scales each channel by a gate computed from the whole feature map's average."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(channels // SE_REDUCTION, 8)
        self.squeeze = nn.Conv2d(channels, hidden, 1)
        self.excite = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.excite(F.relu(self.squeeze(F.adaptive_avg_pool2d(x, 1)), inplace=True))
        return x * torch.sigmoid(gate)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, se: bool) -> None:
        super().__init__()
        # No conv bias: the BatchNorm that follows has its own.
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.se = SqueezeExcite(c_out) if se else nn.Identity()
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.se(self.bn2(self.conv2(y)))
        return F.relu(y + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    def __init__(self, widths: Sequence[int], blocks: Sequence[int], se: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if len(blocks) != len(widths):
            raise ConfigError(f"blocks = {list(blocks)}: resnet needs one entry per stage of widths = "
                              f"{list(widths)}.")
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        stages, c_in = [], widths[0]
        for index, (width, count) in enumerate(zip(widths, blocks)):
            for b in range(count):
                stride = 2 if index > 0 and b == 0 else 1
                stages.append(BasicBlock(c_in, width, stride, se))
                c_in = width
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(c_in, NUM_CLASSES))
        for m in self.modules():
            if isinstance(m, BasicBlock):
                # Each residual branch starts as the identity (Goyal et al., 2017): deep stacks train
                # from the first step as if they were shallow.
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def _summary(config) -> str:
    stages = " ".join(f"{n}x{w}" for w, n in zip(config.widths, config.blocks))
    se = "SE-" if config.se else ""
    return f"{se}ResNet: stem 3x3, basic blocks {stages} ch, avg pool -> Linear({config.widths[-1]}, 10)"


SPEC = ModelSpec(build=lambda config: ResNet(config.widths, config.blocks, config.se, config.dropout),
                 summary=_summary, channels_last=True)
