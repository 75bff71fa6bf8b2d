"""A photo of one garment made into a FashionMNIST image, the way the data set's own images were made.

Zalando made FashionMNIST from product photos on a light background by trimming the background at the
edges, resizing the longest side to 28 pixels, sharpening, extending the short side to 28 with the
image centred, negating the intensities and converting to 8-bit greyscale. ``to_fashion_mnist`` does the
same, with Pillow:

1. read the file (PNG, JPEG, or anything else Pillow reads), turned upright as the camera's EXIF says,
   transparency flattened onto white, then greyscale;
2. take the background's grey from the image's border (its median: noise and a stray edge of the garment
   do not move it), and find the garment as the pixels clearly different from it, after a light blur so
   that sensor noise is not taken for the garment; crop to them;
3. negate against the background, so the background is 0 (black) and the darkest garment pixels are 255,
   as in the data set (a photo on a dark background keeps its polarity instead); done before resizing,
   so that the resampled edges fade to black as the data set's do;
4. resize so that the longest side is 28 pixels (Lanczos), sharpen lightly (unsharp mask, radius 1);
5. centre it on a 28 x 28 black canvas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fmtui.core.errors import DataError

SIDE = 28
# How far (on 0-255) a blurred pixel must be from the background's grey to count as the garment: above
# the noise of a phone photo's background, below the contrast of a white shirt on a light grey table.
OBJECT_THRESHOLD = 24


class PhotoError(DataError):
    """An image that cannot be made into a FashionMNIST input: missing, not an image, empty."""


def read_grey(path: Path) -> np.ndarray:
    """The image at ``path`` as float greyscale (H, W) on 0-255, upright; PhotoError when it is no image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise PhotoError(f"{path}: no such file.")
    if path.is_dir():
        raise PhotoError(f"{path} is a folder; name an image file (PNG or JPEG).")
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise PhotoError(f"{path} is not an image fmtui can read (expected a PNG or JPEG file).") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"{path} cannot be read as an image: {exc}.") from None
    if image.width == 0 or image.height == 0:
        raise PhotoError(f"{path} is an empty image ({image.width} x {image.height} pixels).")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32)


def to_fashion_mnist(path: Path) -> np.ndarray:
    """The photo at ``path`` as a FashionMNIST image: uint8 (28, 28), garment bright on black."""
    return from_grey(read_grey(path), str(path))


def from_grey(grey: np.ndarray, name: str = "the image") -> np.ndarray:
    """Steps 2 to 5 of the module docstring, on a float greyscale (H, W) array on 0-255."""
    from PIL import Image, ImageFilter

    background = float(np.median(_border(grey)))
    blur = max(1.0, max(grey.shape) / 150)  # about the same share of the photo at any resolution
    smooth = np.asarray(Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur)),
                        dtype=np.float32)
    # Both: the blur keeps a noisy background pixel out, the sharp image keeps the blur's halo out.
    mask = (np.abs(smooth - background) > OBJECT_THRESHOLD) & (np.abs(grey - background) > OBJECT_THRESHOLD)
    if not mask.any():
        raise PhotoError(f"{name}: no garment found: the image is all one shade (it may be blank). Photograph "
                         f"one garment on a plain light background.")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    light = background >= 128
    inverted = (background - crop) if light else (crop - background)
    scale = 255 / max(background if light else 255 - background, 1.0)
    inverted = np.clip(inverted * scale, 0, 255)
    height, width = inverted.shape
    factor = SIDE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = Image.fromarray(inverted.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    small = Image.fromarray(np.clip(np.asarray(small), 0, 255).astype(np.uint8))
    small = small.filter(ImageFilter.UnsharpMask(radius=1, percent=60, threshold=0))
    canvas = np.zeros((SIDE, SIDE), dtype=np.uint8)
    top, left = (SIDE - size[1]) // 2, (SIDE - size[0]) // 2
    canvas[top:top + size[1], left:left + size[0]] = np.asarray(small)
    return canvas


def _border(grey: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels, a few deep: where a photo of one garment shows its background."""
    depth = max(1, min(grey.shape) // 50)
    return np.concatenate([grey[:depth].ravel(), grey[-depth:].ravel(), grey[:, :depth].ravel(),
                           grey[:, -depth:].ravel()])
