"""Photo-like images made from FashionMNIST images, as a phone would take them: the garment enlarged,
dark on a light, slightly tinted background, off centre on a larger canvas, with sensor noise. Shared by
the predict tests and bench/photo_agreement.py."""

from __future__ import annotations

import numpy as np
from PIL import Image


def photo_like(image: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An RGB photo of the uint8 (28, 28) FashionMNIST ``image``, different for each ``rng`` draw."""
    scale = int(rng.integers(4, 11))
    side = 28 * scale
    big = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)
    background = rng.uniform(200, 250)
    # Inverted onto the light background: where the data set is black, the photo shows the background.
    photo = background * (1 - np.clip(big, 0, 255) / 255)
    height, width = int(side * rng.uniform(1.3, 2.0)), int(side * rng.uniform(1.3, 2.0))
    canvas = np.full((height, width), background, dtype=np.float32)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    canvas[top:top + side, left:left + side] = photo
    tint = rng.uniform(0.9, 1.0, size=3)  # warm or cool light
    rgb = canvas[..., None] * tint + rng.normal(0, 6, size=(height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def pattern_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Garment-like images for a tiny data set whose class survives cropping and rescaling: a class-specific
    pattern of bright 7 x 7 cells spanning the whole 28 x 28 frame (each pattern touches all four edges, as
    the data set's garments do), on black."""
    images = np.zeros((len(labels), 28, 28), dtype=np.float32)
    for i, label in enumerate(labels):
        cells = PATTERNS[int(label)]
        for r in range(4):
            for c in range(4):
                if cells[r][c] == "#":
                    images[i, 7 * r:7 * r + 7, 7 * c:7 * c + 7] = rng.uniform(150, 255)
    return np.clip(images + rng.normal(0, 4, size=images.shape) * (images > 0), 0, 255).astype(np.uint8)


PATTERNS = [p.split("/") for p in (
    "####/#..#/#..#/####", "#..#/#..#/#..#/####", "####/...#/...#/#..#", "#..#/.##./.##./#..#",
    "####/#.../#.../#..#", "#.../.#../..#./...#", "...#/..#./.#../#...", "#..#/####/#..#/#..#",
    "####/.##./.##./####", "##.#/#..#/#..#/#.##")]
