"""``linear``: softmax regression on the 784 pixels, the baseline every other model is measured against."""

from __future__ import annotations

import torch
from torch import nn

from fmtui.core.models import NUM_CLASSES, ModelSpec


class Linear(nn.Module):
    """One weight per pixel and class."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(28 * 28, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


SPEC = ModelSpec(build=lambda config: Linear(), summary=lambda config: "flatten -> Linear(784, 10)",
                 channels_last=False)
