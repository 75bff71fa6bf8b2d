"""A photo's prediction as `fmtui predict` and the monitor's predict dialog show it: the 28 x 28 picture the
model sees, in half blocks, beside its likeliest classes, each with its confidence and a bar."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fmtui.tui.render import format as fmt
from fmtui.tui.render.pictures import picture

BAR = 16  # cells of a bar at 100%


def prediction_view(name: str, image: np.ndarray, guesses: Sequence[tuple[str, float]]) -> Group:
    """``name`` (a path, shown literally and whole, above), the uint8 (28, 28) ``image`` and the (class,
    confidence) pairs beside it."""
    lines = Text(no_wrap=True, overflow="ellipsis")
    lines.append("what the model sees, left:\n", style="dim")
    width = max((len(c) for c, _ in guesses), default=0)
    for rank, (label, confidence) in enumerate(guesses, 1):
        lines.append(f"\n{rank}. {label:<{width}}  ", style="bold" if rank == 1 else "")
        lines.append(f"{fmt.percent(confidence, 1):>6}  ")
        lines.append("█" * round(confidence * BAR), style="green3" if rank == 1 else "grey50")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=28, no_wrap=True)
    grid.add_column(overflow="ellipsis")
    grid.add_row(picture(image), lines)
    return Group(Text(name, style="bold", overflow="fold"), grid)
