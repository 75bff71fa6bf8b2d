"""Augmentation of whole batches on the training device: flip, shift and rotate in one resampling,
then random erasing; and the smaller images of progressive resizing.

Flip, translation and rotation compose into one affine map per image, applied to the batch by a
single ``grid_sample``; erasing is one mask over the batch. The random numbers come from the run's own
generator, so a seeded run
augments the same way every time (and again after a resume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fmtui.core.data.fashion_mnist import SIDE


def progressive_side(start: int, until: float, epoch: int, epochs: int) -> int:
    """The side of the training images in ``epoch`` (from 1) of ``epochs`` under progressive resizing:
    ``start`` in the first epoch, growing linearly to full size at ``until`` of the run, full from there
    on (so the last epoch, at least, trains at the size the model is scored at). ``start`` 0: always full."""
    ramp = until * (epochs - 1)  # epochs after the first over which the side grows
    if not start or epoch >= epochs or (epoch - 1) >= ramp:
        return SIDE
    progress = (epoch - 1) / ramp
    return start + int((SIDE - start) * progress)


def scaled(images: torch.Tensor, side: int) -> torch.Tensor:
    """Float images (B, 1, H, W) resampled to ``side`` x ``side`` (antialiased, so a thin strap fades
    rather than vanishing); unchanged at their own size."""
    if images.shape[-1] == side and images.shape[-2] == side:
        return images
    return F.interpolate(images, size=(side, side), mode="bilinear", antialias=True, align_corners=False)


@dataclass(frozen=True)
class Augment:
    flip: bool = False
    shift: int = 0  # pixels
    rotate: float = 0.0  # degrees
    erase: float = 0.0  # probability that an image gets a rectangle of noise

    @property
    def active(self) -> bool:
        return self.flip or self.shift > 0 or self.rotate > 0 or self.erase > 0

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Transform float images (B, 1, H, W) on [0, 1]; the background stays 0 (black)."""
        if not self.active:
            return images
        if self.flip or self.shift > 0 or self.rotate > 0:
            images = self._warp(images, generator)
        return self._erase(images, generator) if self.erase > 0 else images

    def _warp(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
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

    def _erase(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random erasing (Zhong et al., 2017): a rectangle of 2-33% of the area, aspect 0.3-3.3, filled with
        uniform noise, in a random ``erase`` share of the images."""
        b, _, h, w = images.shape
        area = torch.empty(b).uniform_(0.02, 0.33, generator=generator) * h * w
        aspect = torch.exp(torch.empty(b).uniform_(math.log(0.3), math.log(3.3), generator=generator))
        eh = (area * aspect).sqrt().round().clamp(1, h)
        ew = (area / aspect).sqrt().round().clamp(1, w)
        top = (torch.rand(b, generator=generator) * (h - eh + 1)).floor()
        left = (torch.rand(b, generator=generator) * (w - ew + 1)).floor()
        chosen = torch.rand(b, generator=generator) < self.erase
        noise = torch.rand(images.shape, generator=generator)
        rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        mask = ((rows >= top.view(b, 1, 1)) & (rows < (top + eh).view(b, 1, 1))
                & (cols >= left.view(b, 1, 1)) & (cols < (left + ew).view(b, 1, 1)) & chosen.view(b, 1, 1))
        mask = mask.unsqueeze(1).to(images.device)
        return torch.where(mask, noise.to(images.device, images.dtype), images)
