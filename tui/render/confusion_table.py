"""The confusion matrix as a rich table, shared by `fmtui eval` and the TUI."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.style import Style
from rich.table import Table
from rich.text import Text

# Short names for the row labels; column headers break long names over two lines so ten columns and
# the recall fit inside 80 terminal columns.
SHORT_NAMES = {"T-shirt/top": "T-shirt", "Trouser": "Trouser", "Pullover": "Pullover", "Dress": "Dress",
               "Coat": "Coat", "Sandal": "Sandal", "Shirt": "Shirt", "Sneaker": "Sneaker", "Bag": "Bag",
               "Ankle boot": "Boot"}
HEADERS = {"T-shirt/top": "T-\nshirt", "Trouser": "Trou-\nser", "Pullover": "Pull-\nover", "Sandal": "San-\ndal",
           "Sneaker": "Snea-\nker", "Ankle boot": "Ankle\nboot"}
CELL = 5  # characters per cell: "1,000" counts, "100.0" percentages

# Eight steps of one hue from the 256-colour palette: readable without true colour, and in tmux.
_HIT = ["grey15", "dark_green", "green4", "spring_green4", "green3", "spring_green3", "green1", "pale_green1"]
_MISS = ["grey15", "grey30", "dark_red", "red3", "red1", "orange_red1", "dark_orange", "orange1"]


def _shade(value: float, diagonal: bool) -> Style:
    """Background by value on [0, 1]; dark text on the bright end so numbers stay legible."""
    palette = _HIT if diagonal else _MISS
    step = 0 if value <= 0 else min(len(palette) - 1, 1 + int(value * (len(palette) - 1)))
    return Style(bgcolor=palette[step], color="black" if step >= 5 else "white")


# The cell under the monitor's cursor: a colour no shade uses, so it stands out on any of them.
CURSOR = Style(bgcolor="yellow1", color="black", bold=True)
WORST = Style(color="red1", bold=True)  # the class with the lowest F1


def confusion_table(confusion: np.ndarray | Sequence[Sequence[int]], class_names: Sequence[str],
                    precision: Sequence[float] | None = None, recall: Sequence[float] | None = None,
                    *, f1: Sequence[float] | None = None, percent: bool = False, title: str | None = None,
                    cursor: tuple[int, int] | None = None) -> Table:
    """Rows are true classes, columns predictions; cells shaded by their share of the row. With ``f1``,
    a row of F1 scores and the worst class (lowest F1) in red; ``cursor`` (true, predicted) is highlighted."""
    cm = np.asarray(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    shares = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    # Misses are rarely above a fifth of a row; scale them so the worst pairs stand out.
    miss_scale = max(shares[~np.eye(len(cm), dtype=bool)].max(initial=0), 1e-9)
    table = Table(title=title, title_justify="left", pad_edge=False, padding=(0, 0, 0, 1), box=None,
                  show_edge=False)
    table.add_column("true\\pred", no_wrap=True, vertical="bottom")
    for name in class_names:
        header = HEADERS.get(name, SHORT_NAMES.get(name, name)[:CELL])
        table.add_column(header, justify="right", no_wrap=True, min_width=CELL, vertical="bottom")
    if recall is not None:
        table.add_column("recall", justify="right", no_wrap=True, vertical="bottom")
    worst = int(np.argmin(f1)) if f1 is not None and len(f1) else None
    for i, name in enumerate(class_names):
        cells = []
        for j in range(len(class_names)):
            share = shares[i, j]
            text = f"{share * 100:.1f}" if percent else f"{int(cm[i, j]):,}"
            value = share if i == j else share / miss_scale
            # Padded to the full cell so the shading forms an even grid.
            style = _shade(value, i == j) if cm[i, j] else Style(dim=True)
            cells.append(Text(f"{text:>{CELL}}", style=CURSOR if cursor == (i, j) else style))
        extra = [Text(f"{recall[i] * 100:.1f}%")] if recall is not None else []
        table.add_row(Text(SHORT_NAMES.get(name, name), style=WORST if i == worst else ""), *cells, *extra)
    for label, scores in (("precision", precision), ("F1", f1)):
        if scores is not None:
            table.add_row(Text(label, style="italic"),
                          *[Text(f"{s * 100:.0f}%", style=WORST if j == worst and label == "F1" else "italic")
                            for j, s in enumerate(scores)],
                          *([""] if recall is not None else []))
    return table
