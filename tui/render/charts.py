"""What the monitor's charts and `fmtui compare`'s share: the curves' colours (plotext's names, with the
Rich style a legend writes them in) and accuracy axes kept within what an accuracy can be."""

from __future__ import annotations

from collections.abc import Sequence

# plotext's colour names and the terminal colours (of the 16) it draws them in; a legend uses the same.
COLOUR_CODES = {"red": 1, "green": 2, "orange": 3, "blue": 4, "magenta": 5, "cyan": 6,
                "red+": 9, "green+": 10, "orange+": 11, "blue+": 12, "magenta+": 13, "cyan+": 14}
# One curve each, in order: the first two are the monitor's train and validation colours.
CURVE_COLOURS = ("cyan", "orange", "green+", "magenta", "blue+", "red", "cyan+", "orange+")


def colour_style(colour: str) -> str:
    """The Rich style of a plotext colour name."""
    return f"color({COLOUR_CODES[colour]})" if colour in COLOUR_CODES else ""


def percent_limits(values: Sequence[float]) -> tuple[float, float]:
    """A y range about ``values`` (percentages) that stays within 0-100."""
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 0.5)
    return max(0.0, low - pad), min(100.0, high + pad)
