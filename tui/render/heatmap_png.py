"""PNG files of the explanations for reports and slides (`fmtui explain --out DIR`): pictures and maps
enlarged, each under its label, with the colour scale and its values along the bottom. The colours are
fmtui.tui.render.heatmap's, so a file shows what the terminal showed. Written with Pillow."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fmtui.core.explain.attributions import METHODS
from fmtui.core.explain.one_image import ImageExplanation
from fmtui.core.explain.pairs import PairExplanation
from fmtui.tui.render.heatmap import RAMP, STEPS, limit, overlay_rgb, rgb

ZOOM = 8  # 28 pixels become 224: big enough for a slide, small enough to keep the file light
LABEL, PAD, BAR = 14, 6, 12  # heights in pixels: a label line, the space around tiles, the colour bar


def slug(name: str) -> str:
    """A class name as part of a file name: 'T-shirt/top' -> 't-shirt-top'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def grey_rgb(image: np.ndarray) -> np.ndarray:
    """A grey image (0-255) as colours (H, W, 3)."""
    return np.repeat(np.clip(image, 0, 255).round().astype(np.uint8)[..., None], 3, axis=2)


def save_sheet(path: Path, tiles: Sequence[tuple[np.ndarray, str]], *, columns: int | None = None,
               scale: float | None = None, zoom: int = ZOOM) -> Path:
    """Write ``tiles`` (colours (H, W, 3) uint8 and a label each) in rows of ``columns`` to the PNG file
    ``path``; ``scale``: the magnitude at the ends of the colour bar drawn along the bottom (none without).
    Written to a temporary file first, so a failure leaves no half-written picture behind."""
    from PIL import Image, ImageDraw

    columns = columns or len(tiles)
    rows = -(-len(tiles) // columns)
    tile_h = max(t.shape[0] for t, _ in tiles) * zoom
    tile_w = max(t.shape[1] for t, _ in tiles) * zoom
    width = PAD + columns * (tile_w + PAD)
    height = PAD + rows * (LABEL + tile_h + PAD) + ((BAR + LABEL + PAD) if scale is not None else 0)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for n, (colours, label) in enumerate(tiles):
        x = PAD + (n % columns) * (tile_w + PAD)
        y = PAD + (n // columns) * (LABEL + tile_h + PAD)
        draw.text((x, y), label, fill=(0, 0, 0))
        big = Image.fromarray(np.ascontiguousarray(colours), "RGB").resize(
            (colours.shape[1] * zoom, colours.shape[0] * zoom), Image.Resampling.NEAREST)
        sheet.paste(big, (x, y + LABEL))
    if scale is not None:
        y = height - PAD - LABEL - BAR
        bar_w = width - 2 * PAD
        steps = np.round(np.linspace(-1, 1, bar_w) * STEPS + STEPS).astype(np.int64)
        bar = Image.fromarray(np.ascontiguousarray(np.repeat(RAMP[steps][None], BAR, axis=0)), "RGB")
        sheet.paste(bar, (PAD, y))
        draw.text((PAD, y + BAR + 1), f"{-scale:+.3g}", fill=(0, 0, 0))
        draw.text((PAD + bar_w // 2 - 4, y + BAR + 1), "0", fill=(0, 0, 0))
        end = f"{scale:+.3g}"
        draw.text((PAD + bar_w - 7 * len(end), y + BAR + 1), end, fill=(0, 0, 0))
    path = Path(path)
    # Beside the file (one file system for the rename), with the mode the umask gives a new file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as f:
            sheet.save(f, format="PNG")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


# --- the files of each explanation ------------------------------------------------------------------

def image_files(folder: Path, e: ImageExplanation, class_names: Sequence[str]) -> list[Path]:
    """test-N.png (the picture) and, per method, test-N-METHOD.png: the map toward the predicted class
    beside the map toward the true class, on one scale."""
    files = [save_sheet(folder / f"test-{e.index}.png", [(grey_rgb(e.image), f"test #{e.index}: "
                                                          f"{class_names[e.true]}")])]
    for method, (toward_predicted, toward_true) in e.maps.items():
        scale = max(limit(toward_predicted), limit(toward_true))
        tiles = [(_map_rgb(method, e.image, toward_predicted, scale), f"-> {class_names[e.predicted]} (said)")]
        if e.true != e.predicted:
            tiles.append((_map_rgb(method, e.image, toward_true, scale), f"-> {class_names[e.true]} (true)"))
        files.append(save_sheet(folder / f"test-{e.index}-{method}.png", tiles,
                                scale=None if METHODS[method].convolutional else scale))
    return files


def pair_files(folder: Path, p: PairExplanation, class_names: Sequence[str]) -> list[Path]:
    """pair-TRUE-SAID.png: the two mean images and their difference; pair-TRUE-SAID-METHOD.png: the
    average map over the cell's mistakes (when there are any)."""
    name = f"pair-{slug(class_names[p.true])}-{slug(class_names[p.predicted])}"
    scale = limit(p.difference)
    files = [save_sheet(folder / f"{name}.png",
                        [(grey_rgb(p.mean_true), f"mean {class_names[p.true]}"),
                         (grey_rgb(p.mean_predicted), f"mean {class_names[p.predicted]}"),
                         (rgb(p.difference, scale), "difference")], scale=scale)]
    if p.average_map is not None and p.mistake_mean is not None:
        convolutional = METHODS[p.method].convolutional
        map_scale = limit(p.average_map)
        files.append(save_sheet(folder / f"{name}-{p.method}.png",
                                [(_map_rgb(p.method, p.mistake_mean, p.average_map, map_scale),
                                  f"mean of {p.averaged} -> {class_names[p.predicted]}")],
                                scale=None if convolutional else map_scale))
    return files


def template_files(folder: Path, templates: np.ndarray, means: np.ndarray, class_names: Sequence[str]) -> list[Path]:
    """templates.png: each class's mean image above its template, on one colour scale."""
    scale = limit(templates)
    tiles = [(grey_rgb(m), slug(n)) for m, n in zip(means, class_names)]
    tiles += [(rgb(t, scale), "template") for t in templates]
    return [save_sheet(folder / "templates.png", tiles, columns=len(class_names), scale=scale)]


def filter_files(folder: Path, filters: np.ndarray) -> list[Path]:
    """filters.png: the first convolution's filters, eight to a row, on one colour scale."""
    scale = limit(filters)
    zoom = max(ZOOM, 48 // filters.shape[-1])  # a 3x3 filter drawn 48 pixels wide
    return [save_sheet(folder / "filters.png", [(rgb(f, scale), str(n)) for n, f in enumerate(filters)],
                       columns=8, scale=scale, zoom=zoom)]


def _map_rgb(method: str, image: np.ndarray, values: np.ndarray, scale: float) -> np.ndarray:
    if METHODS[method].convolutional:
        return overlay_rgb(np.clip(image, 0, 255).round().astype(np.uint8), values)
    return rgb(values, scale)
