"""A line chart for the monitor: curves drawn in braille dots (two by four to a cell, so a two-epoch curve
is a line, not a staircase of half blocks), the title and legend above the plot rather than on it (plotext
puts its legend in the top left corner, where a falling loss or a run's first epoch is drawn), and
accuracy axes kept to what an accuracy can be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from fmtui.tui.render.charts import colour_style, percent_limits


@dataclass(frozen=True)
class Line:
    label: str  # "" for a chart of one curve: no legend
    colour: str  # a plotext colour name; the legend shows it in the same terminal colour
    xs: Sequence[float]
    ys: Sequence[float]


def heading(title: str, lines: Sequence[Line]) -> Text:
    """The chart's title, then each labelled curve as a short coloured line and its label."""
    text = Text(title, style="bold")
    for line in lines:
        if line.label:
            text.append("  ")
            text.append("━━", style=colour_style(line.colour))
            text.append(f" {line.label}")
    return text


class LineChart(Vertical):
    DEFAULT_CSS = """
    LineChart { height: 1fr; }
    LineChart > .heading { height: 1; width: 1fr; text-align: center; }
    LineChart > PlotextPlot { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        self.heading = Static(classes="heading", markup=False)
        self.plot = PlotextPlot()
        yield self.heading
        yield self.plot

    def draw(self, title: str, lines: Sequence[Line], *, percent: bool = False,
             xticks: Sequence[float] | None = None, xlim: tuple[float, float] | None = None) -> None:
        """Replace the curves with ``lines``; ``percent``: the y axis is an accuracy, within 0-100."""
        plt = self.plot.plt
        plt.clear_data()
        plt.clear_figure()
        shown = []
        for line in lines:
            # Non-finite values (a diverging run's loss) would break plotext's axis scaling.
            points = [(x, y) for x, y in zip(line.xs, line.ys) if math.isfinite(y)]
            if points:
                plt.plot([x for x, _ in points], [y for _, y in points], color=line.colour, marker="braille")
                shown.extend(y for _, y in points)
        if shown and percent:
            plt.ylim(*percent_limits(shown))
        if shown and xlim is not None:
            plt.xlim(*xlim)
        if shown and xticks:
            plt.xticks(list(xticks))
        self.heading.update(heading(title, [line for line in lines if line.xs]))
        self.plot.refresh()
