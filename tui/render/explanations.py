"""The explanations as Rich renderables, shared by `fmtui explain` and the monitor's Explain view: what a
model learned (templates beside class means, or first-layer filters), where it looked for one image, and
what separates a confused pair. Each takes the width it may fill and wraps its pictures into rows.

Grad-CAM maps are laid over the picture (they are positive, coarse regions); the model-agnostic maps are
drawn on their own in two colours (red for the class, blue against), since their sign matters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fmtui.core.explain.attributions import METHODS
from fmtui.core.explain.learned import FeatureMaps
from fmtui.core.explain.one_image import ImageExplanation
from fmtui.core.explain.pairs import PairExplanation
from fmtui.tui.render.heatmap import enlarge, heat, limit, overlay, scale_bar
from fmtui.tui.render.pictures import picture, short, sure

FULL, HALF = 28, 14  # cells across a picture at full and at half size
GAP = 1
LEGEND = Text("red for the class, blue against", style="dim")


def grid(cells: Sequence[RenderableType], cell_width: int, width: int) -> Table:
    """Cells in rows, as many to a row as ``width`` holds."""
    columns = max(1, min(len(cells) or 1, (width + GAP) // (cell_width + GAP)))
    table = Table.grid(padding=(0, GAP, 0, 0))
    for _ in range(columns):
        table.add_column(width=cell_width, no_wrap=True)
    for start in range(0, len(cells), columns):
        table.add_row(*cells[start:start + columns])
    return table


def labelled(label: str | Text, body: RenderableType, width: int, style: str = "") -> Group:
    text = label if isinstance(label, Text) else Text(label, style=style)
    text.no_wrap, text.overflow = True, "ellipsis"
    text.truncate(width, overflow="ellipsis")
    return Group(text, body)


def map_picture(method: str, image: np.ndarray, values: np.ndarray, scale: float | None = None) -> Text:
    """A map as the views draw it: Grad-CAM over the picture, the others in two colours (``scale``: the
    magnitude drawn brightest, shared by maps that are compared)."""
    if METHODS[method].convolutional:
        return overlay(image, values)
    return heat(values, scale=scale)


def image_view(e: ImageExplanation, class_names: Sequence[str], width: int, *,
               features: list[FeatureMaps] | None = None, split: str = "test") -> Group:
    """One image: per method, the map toward the class the model said beside the map toward the true
    class (one scale for both), the first row with the model's top classes and the picture beside it;
    then, for a CNN, its feature maps layer by layer. At 80 columns the first row fills 16 lines."""
    said, true = class_names[e.predicted], class_names[e.true]
    head = Text.assemble(f"{split} #{e.index:,}: ", (true, "bold"),
                         (" said right" if e.true == e.predicted else " taken for "), ("" if e.true == e.predicted
                                                                                      else (said, "red1")),
                         f" ({sure(e.confidence)})")
    parts: list[RenderableType] = [head]
    for row, (method, (toward_predicted, toward_true)) in enumerate(e.maps.items()):
        name = METHODS[method].short
        scale = max(limit(toward_predicted), limit(toward_true))  # one scale: the two maps compare
        cells = [labelled(Text.assemble(f"{name} → ", (short(said), "bold"), (" (said)", "dim")),
                          map_picture(method, e.image, toward_predicted, scale), FULL)]
        if e.true != e.predicted:
            cells.append(labelled(Text.assemble(f"{name} → ", (short(true), "bold"), (" (true)", "dim")),
                                  map_picture(method, e.image, toward_true, scale), FULL))
        side = width - len(cells) * (FULL + GAP)
        table = Table.grid(padding=(0, GAP, 0, 0))
        for _ in cells:
            table.add_column(width=FULL, no_wrap=True)
        if row == 0 and side >= HALF:  # the top classes and the picture itself, where they fit
            table.add_column(width=side, no_wrap=True)
            cells.append(Group(Text(""), _top_classes(e, class_names, side), Text(""), picture(e.image, half=True)))
        table.add_row(*cells)
        parts.append(table)
        if METHODS[method].convolutional:
            parts.append(Text(f"{METHODS[method].title} of the last convolution: warm where it raised the class",
                              style="dim", no_wrap=True, overflow="ellipsis"))
        else:
            parts.append(Text.assemble(scale_bar(scale, width=8), f"  {METHODS[method].title}: ", LEGEND,
                                       no_wrap=True, overflow="ellipsis"))
        parts.append(Text(""))
    if features:
        parts.append(feature_view(features, width))
    return Group(*parts)


def _top_classes(e: ImageExplanation, class_names: Sequence[str], width: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, c in enumerate(np.argsort(-e.probabilities, kind="stable")[:4]):
        style = "green3" if c == e.true else ("red1" if c == e.predicted else "")
        line = f"{sure(float(e.probabilities[c])):>4} {short(class_names[c])}"
        text.append(("\n" if n else "") + line[:width], style=style)
    return text


def feature_view(layers: list[FeatureMaps], width: int) -> Group:
    """Each convolution's strongest channels for the image, at 14x14 cells (smaller maps enlarged)."""
    rows: list[RenderableType] = [Text("feature maps, layer by layer (the strongest channels)", style="bold")]
    for layer in layers:
        pictures = []
        for channel, values in zip(layer.shown, layer.maps):
            factor = max(1, HALF // layer.side)
            drawn = heat(enlarge(values, factor) if factor > 1 else values, half=layer.side > HALF)
            pictures.append(labelled(f"ch {channel}", drawn, HALF, style="dim"))
        rows.append(Text(f"{layer.layer}: {layer.side}x{layer.side}, {layer.channels} channels", style="dim"))
        rows.append(grid(pictures, HALF, width))
    return Group(*rows)


def templates_view(templates: np.ndarray, means: np.ndarray, class_names: Sequence[str], width: int) -> Group:
    """Each class's mean image above its template (the weight row), at half size, five to a row at 80."""
    columns = max(1, (width + GAP) // (HALF + GAP))
    scale = limit(templates)  # one scale for all ten: a faint template is a weak one
    rows: list[RenderableType] = [
        Text("class templates: each class's weights over the pixels, under the class's mean image", style="bold"),
        LEGEND]
    for start in range(0, len(class_names), columns):
        chosen = range(start, min(start + columns, len(class_names)))
        rows.append(grid([labelled(short(class_names[c]), picture(means[c].round().astype(np.uint8), half=True),
                                   HALF, "bold") for c in chosen], HALF, width))
        rows.append(grid([heat(templates[c], scale=scale, half=True) for c in chosen], HALF, width))
    rows.append(scale_bar(scale))
    return Group(*rows)


def filters_view(filters: np.ndarray, width: int) -> Group:
    """The first convolution's filters, each enlarged to about 6x6 cells, in one colour scale."""
    side = filters.shape[-1]
    factor = max(1, 6 // side)
    cell = side * factor
    scale = limit(filters)
    drawn = [heat(enlarge(f, factor), scale=scale) for f in filters]
    return Group(Text(f"first-layer filters: {len(filters)} of {side}x{side}, enlarged", style="bold"), LEGEND,
                 grid(drawn, cell, width), scale_bar(scale))


def pair_view(p: PairExplanation, class_names: Sequence[str], width: int) -> Group:
    """Two classes' mean images, their difference, and the model's average map over the cell's mistakes."""
    true, said = short(class_names[p.true]), short(class_names[p.predicted])
    # The difference and the mistakes' map first: at 80 columns they are the row on the first screen.
    cells = [labelled(f"{true} − {said}", heat(p.difference), FULL, "bold")]
    if p.average_map is not None and p.mistake_mean is not None:
        title = METHODS[p.method].short
        cells.append(labelled(f"{title} → {said}, mistakes' mean", map_picture(
            p.method, p.mistake_mean.round().astype(np.uint8), p.average_map), FULL, "bold"))
    cells += [labelled(f"mean {true}", picture(p.mean_true.round().astype(np.uint8)), FULL, "bold"),
              labelled(f"mean {said}", picture(p.mean_predicted.round().astype(np.uint8)), FULL, "bold")]
    count = len(p.mistakes)
    about = (f"{count:,} mistakes" + (f"; the map averages the {p.averaged:,} surest" if count > p.averaged else "")
             if count else f"no {class_names[p.true]} image is taken for {class_names[p.predicted]}")
    legend = f"difference: red where {true} has more ink, blue where {said} has"
    if p.average_map is not None:
        legend = f"difference: red where {true} has more ink; the map: red for {said}"
    return Group(Text.assemble((f"{class_names[p.true]} → {class_names[p.predicted]}", "bold"), f": {about}"),
                 Text(legend, style="dim"), grid(cells, FULL, width))
