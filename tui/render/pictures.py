"""FashionMNIST images drawn with characters, shared by the monitor's examples view and `fmtui eval --errors`.

Each character cell shows two pixels, one above the other: '▀' in the upper pixel's grey on the lower
pixel's grey. The greys are the 256-colour palette's ramp (232-255, with the palette's black 16 and
white 231 at its ends), so a picture looks the same in tmux over SSH without true colour, and any
terminal since xterm draws it. A 28x28 image is 14 lines of 28 cells; halved (2x2 pixels averaged)
it is 7 lines of 14 cells, small enough for a row of thumbnails at 80 columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from fmtui.tui.render.confusion_table import SHORT_NAMES

HALF_BLOCK = "▀"
GREYS = (16, *range(232, 256), 231)  # 26 palette entries from black to white
_STYLES = [[Style(color=Color.from_ansi(top), bgcolor=Color.from_ansi(bottom)) for bottom in GREYS]
           for top in GREYS]


def grey_levels(image: np.ndarray) -> np.ndarray:
    """Pixels 0-255 as indices into GREYS (0 black, 25 white), rounded to the nearest."""
    return (image.astype(np.uint16) * (len(GREYS) - 1) + 127) // 255


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` with each ``factor`` x ``factor`` block averaged (the edges cropped to a multiple)."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:h, :w].reshape(h // factor, factor, w // factor, factor).astype(np.float32)
    return blocks.mean(axis=(1, 3)).round().astype(np.uint8)


def picture(image: np.ndarray, *, half: bool = False) -> Text:
    """A uint8 image (H, W) as ceil(H/2) lines of W half blocks; ``half``: at half size first."""
    if half:
        image = shrink(image, 2)
    levels = grey_levels(image)
    if len(levels) % 2:  # an odd last row is drawn over black
        levels = np.vstack([levels, np.zeros((1, levels.shape[1]), dtype=levels.dtype)])
    text = Text(no_wrap=True, overflow="crop")
    for r in range(0, len(levels), 2):
        if r:
            text.append("\n")
        pairs = list(zip(levels[r].tolist(), levels[r + 1].tolist()))
        start = 0
        for c in range(1, len(pairs) + 1):  # one span per run of equal cells: black backgrounds are long runs
            if c == len(pairs) or pairs[c] != pairs[start]:
                top, bottom = pairs[start]
                text.append(HALF_BLOCK * (c - start), _STYLES[top][bottom])
                start = c
    return text


def sure(confidence: float) -> str:
    """A confidence as a whole percentage, rounded down: 0.9994 is '99%', never a certainty it is not."""
    return f"{math.floor(confidence * 100)}%"


def short(name: str) -> str:
    return SHORT_NAMES.get(name, name)


def caption(true: int, predicted: int, confidence: float, class_names: Sequence[str], *,
            width: int) -> Text:
    """'Shirt → T-shirt 97%' cut to ``width``: what the image is, what the model said, and how sure it was."""
    same = true == predicted
    text = Text(short(class_names[true]), style="green3" if same else "bold")
    if not same:
        text.append(" → ")
        text.append(short(class_names[predicted]), style="red1")
    text.append(f" {sure(confidence)}")
    text.truncate(width, overflow="ellipsis")
    return text
