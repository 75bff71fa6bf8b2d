"""Maps and weights drawn with characters: attribution maps, class templates and filters in two colours
(red where a value speaks for the class, blue against, black at zero), and a map laid over a grey picture.

The colours are one table (``rgb``), shared with the PNG files `fmtui explain --out` writes, so the
terminal and the files agree. Cells are half blocks as in fmtui.tui.render.pictures: the upper pixel's
colour on the lower pixel's. Colours are true colour; Rich brings them down to the 256-colour palette
where the terminal has no more (tmux without true colour), and the ramps stay readable there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from fmtui.tui.render.pictures import HALF_BLOCK

STEPS = 12  # levels on each side of zero: enough to tell strong from weak, few enough to compress well
# From zero to the strongest value: black, then a deep hue, then a light one.
_POSITIVE = np.array([(0, 0, 0), (190, 30, 30), (255, 225, 70)], dtype=np.float32)
_NEGATIVE = np.array([(0, 0, 0), (35, 80, 200), (140, 225, 255)], dtype=np.float32)


def _ramp(stops: np.ndarray) -> np.ndarray:
    t = np.linspace(0, 1, STEPS + 1)
    return np.stack([np.interp(t, np.linspace(0, 1, len(stops)), stops[:, k]) for k in range(3)], axis=1)


RAMP = np.concatenate([_ramp(_NEGATIVE)[::-1], _ramp(_POSITIVE)[1:]]).round().astype(np.uint8)  # -1 .. +1


def limit(values: np.ndarray) -> float:
    """The scale of a map: its largest magnitude (1 for an all-zero map, which is then drawn black)."""
    top = float(np.abs(values).max()) if values.size else 0.0
    return top if top > 0 and np.isfinite(top) else 1.0


def levels(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Values as indices into RAMP: STEPS is zero, 0 the most negative, 2 * STEPS the most positive."""
    scale = limit(values) if scale is None else scale
    t = np.clip(np.nan_to_num(values / scale), -1, 1)
    return (np.round(t * STEPS) + STEPS).astype(np.int64)


def rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """A map (H, W) as colours (H, W, 3) uint8 on the two-colour ramp, scaled to ``scale`` (default: its
    own largest magnitude)."""
    return RAMP[levels(values, scale)]


def overlay_rgb(image: np.ndarray, values: np.ndarray, strength: float = 0.75) -> np.ndarray:
    """A grey uint8 image (H, W) with a map's positive part laid over it in the warm colours: where the
    map is strong the colour covers the picture, where it is zero the picture shows as it is."""
    grey = np.repeat(image.astype(np.float32)[..., None], 3, axis=2)
    positive = np.clip(np.nan_to_num(values / limit(np.clip(values, 0, None))), 0, 1)
    step = np.round(positive * STEPS).astype(np.int64)
    colour = RAMP[STEPS + step].astype(np.float32)
    alpha = (step / STEPS * strength)[..., None]
    return (grey * (1 - alpha) + colour * alpha).round().astype(np.uint8)


def enlarge(values: np.ndarray, factor: int) -> np.ndarray:
    """Each value repeated into a ``factor`` x ``factor`` block: a 3x3 filter drawn big enough to see."""
    return np.kron(values, np.ones((factor, factor), dtype=values.dtype))


@lru_cache(maxsize=4096)
def _style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


def half_blocks(colours: np.ndarray) -> Text:
    """Colours (H, W, 3) uint8 as ceil(H/2) lines of W half blocks (an odd last row over black)."""
    if len(colours) % 2:
        colours = np.concatenate([colours, np.zeros((1, *colours.shape[1:]), dtype=colours.dtype)])
    text = Text(no_wrap=True, overflow="crop")
    for r in range(0, len(colours), 2):
        if r:
            text.append("\n")
        cells = [(tuple(a), tuple(b)) for a, b in zip(colours[r].tolist(), colours[r + 1].tolist())]
        start = 0
        for c in range(1, len(cells) + 1):  # one span per run of equal cells
            if c == len(cells) or cells[c] != cells[start]:
                text.append(HALF_BLOCK * (c - start), _style(*cells[start]))
                start = c
    return text


def heat(values: np.ndarray, *, scale: float | None = None, factor: int = 1, half: bool = False) -> Text:
    """A map in the two colours, as half blocks; ``factor`` enlarges it, ``half`` averages 2x2 blocks."""
    if half:
        h, w = values.shape[0] // 2 * 2, values.shape[1] // 2 * 2
        values = values[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return half_blocks(rgb(enlarge(values, factor) if factor > 1 else values, scale))


def overlay(image: np.ndarray, values: np.ndarray) -> Text:
    """The picture with the map's positive part over it, as 28 cells by 14 lines for a 28x28 image."""
    return half_blocks(overlay_rgb(image, values))


def scale_bar(scale: float, width: int = 25, *, signed: bool = True) -> Text:
    """The ramp as one line of cells, with the values at its ends: '-0.31 ████ +0.31'."""
    lo = -scale if signed else 0.0
    t = np.linspace(lo / scale, 1, width)
    text = Text(f"{lo:+.2g} " if signed else "0 ", style="dim", no_wrap=True)
    for level in np.round(t * STEPS + STEPS).astype(np.int64):
        r, g, b = (int(v) for v in RAMP[level])
        text.append("█", Style(color=Color.from_rgb(r, g, b)))
    text.append(f" {scale:+.2g}", style="dim")
    return text
