"""Augmentation of whole batches on the training device: flip, shift and rotate in one resampling.

Flip, translation and rotation compose into one affine map per image, applied to the batch by a
single ``grid_sample``; the random numbers come from the run's own generator, so a seeded run
augments the same way every time (and again after a resume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    flip: bool = False
    shift: int = 0  # pixels
    rotate: float = 0.0  # degrees

    @property
    def active(self) -> bool:
        return self.flip or self.shift > 0 or self.rotate > 0

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Transform float images (B, 1, H, W) on [0, 1]; the background stays 0 (black)."""
        if not self.active:
            return images
        b, _, h, w = images.shape
        # Random numbers are drawn on the CPU generator (B values, cheap) so runs are reproducible
        # on any device, then moved with the batch.
        angle = (torch.rand(b, generator=generator) * 2 - 1) * math.radians(self.rotate)
        shift = torch.randint(-self.shift, self.shift + 1, (b, 2), generator=generator).float()
        mirror = torch.ones(b)
        if self.flip:
            mirror = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack([
            torch.stack([cos * mirror, -sin, shift[:, 0] * 2 / w], dim=1),
            torch.stack([sin * mirror, cos, shift[:, 1] * 2 / h], dim=1),
        ], dim=1).to(images.device, images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
