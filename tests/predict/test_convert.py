"""Photos made into FashionMNIST inputs as the data set was made: greyscale, cropped to the garment,
negated against the background, longest side 28, centred on black."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmtui.core.predict.convert import PhotoError, to_fashion_mnist
from tests.predict.photos import pattern_images, photo_like


def garment() -> np.ndarray:
    """A FashionMNIST-like image: a bright shape 28 tall and 16 wide, centred, on black."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[:, 6:22] = np.linspace(120, 250, 28, dtype=np.uint8)[:, None]
    image[10:18, 12:16] = 40  # a darker patch, so the inside matters as well as the outline
    return image


@pytest.mark.parametrize("seed", range(5))
def test_a_photo_of_an_image_converts_back_to_it(tmp_path, seed):
    """An image enlarged, inverted onto a light tinted background, placed off centre with noise and saved as
    JPEG converts back to (nearly) the image: the garment found, cropped, centred, scaled and negated."""
    path = tmp_path / "photo.jpg"
    photo_like(garment(), np.random.default_rng(seed)).save(path, quality=85)
    converted = to_fashion_mnist(path)
    assert converted.shape == (28, 28) and converted.dtype == np.uint8
    assert converted[:, :4].max() < 30 and converted[:, -4:].max() < 30, "the background is black"
    assert np.abs(converted.astype(int) - garment()).mean() < 20


def test_a_dark_background_keeps_its_polarity_and_transparency_is_flattened(tmp_path):
    """A garment already bright on a dark background is not negated; a transparent PNG is put on white."""
    dark = tmp_path / "dark.png"
    Image.fromarray(np.pad(garment(), 40)).resize((216, 216)).save(dark)
    assert np.abs(to_fashion_mnist(dark).astype(int) - garment()).mean() < 20
    clear = tmp_path / "clear.png"
    rgba = np.zeros((100, 100, 4), dtype=np.uint8)
    rgba[20:80, 35:65] = (30, 30, 30, 255)  # an opaque dark garment, nothing behind it
    Image.fromarray(rgba, "RGBA").save(clear)
    converted = to_fashion_mnist(clear)
    assert converted[:, 9:19].min() > 200 and converted[:, :4].max() == 0


def test_the_pattern_set_survives_the_photo_round_trip(tmp_path):
    """The tests' tiny data set is one whose images come back from a photo nearly unchanged."""
    rng = np.random.default_rng(1)
    images = pattern_images(np.arange(10), rng)
    for i, image in enumerate(images):
        path = tmp_path / f"{i}.png"
        photo_like(image, rng).save(path)
        assert np.abs(to_fashion_mnist(path).astype(int) - image).mean() < 25, i


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.write_text("hello"), "is not an image fmtui can read (expected a PNG or JPEG file)"),
    (lambda p: p.write_bytes(b""), "is not an image fmtui can read"),
    (lambda p: Image.new("RGB", (60, 40), (231, 231, 231)).save(p, "PNG"), "no garment found"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: None, "no such file"),
])
def test_what_is_not_a_photo_of_a_garment_is_a_clear_error(tmp_path, make, fragment):
    """Text, an empty file, a blank image, a folder and a missing path: PhotoError naming the path."""
    path: Path = tmp_path / "photo.png"
    make(path)
    with pytest.raises(PhotoError, match=re.escape(fragment)) as info:
        to_fashion_mnist(path)
    assert str(path) in str(info.value)
