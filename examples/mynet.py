"""A small CNN of my own, trained by fmtui beside its linear model and TinyVGG.

fmtui calls ``Net`` with the settings its parameters name (``widths`` and ``dropout`` here), taken from
the preset (mynet.toml) or from ``--set``; a parameter that names no setting keeps its default.
"""

from torch import nn


class Net(nn.Module):
    """conv5x5-ReLU-maxpool per entry of widths, then dropout and a linear head."""

    def __init__(self, widths=(16, 32), dropout=0.0, kernel=5):
        super().__init__()
        layers, channels = [], 1
        for width in widths:
            layers += [nn.Conv2d(channels, width, kernel, padding=kernel // 2), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        side = 28 >> len(widths)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * side * side, 10))

    def forward(self, x):
        return self.head(self.features(x))
