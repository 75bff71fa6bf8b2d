"""The monitor's views: one table, from which the app builds its keys, its tabs and its help.

Adding a view is one widget module in ``widgets/`` and one entry here. A view widget that has
``reset(config)`` and ``follow(event)`` (``widgets.RunView``) is fed the current run's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.widget import Widget

from fmtui.tui.monitor.widgets.charts import Charts
from fmtui.tui.monitor.widgets.compare import CompareView
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.history import HistoryTable
from fmtui.tui.monitor.widgets.sweep import SweepView


@dataclass(frozen=True)
class View:
    key: str  # the key that shows it, also shown on its tab
    id: str
    title: str
    widget: type[Widget]
    help: str  # one line for the help screen
    scroll: bool = False  # taller than the screen can be: wrapped in a scrolling container
    in_footer: bool = False  # the footer has room for a few keys; the tabs show the rest
    toggle: bool = False  # its key pressed again goes back to the view shown before


VIEWS = (
    View("1", "charts", "Charts", Charts, "Loss and accuracy per epoch, train and validation, and the batch loss."),
    View("2", "confusion", "Confusion", ConfusionView,
         "The confusion matrix with precision, recall and F1 per class (the worst class in red) and the most "
         "confused pairs; m switches counts and row percentages; arrows move the cursor, Enter shows the "
         "cell's images.", scroll=True),
    View("3", "history", "History", HistoryTable, "Every epoch's numbers; the best epoch is starred."),
    View("c", "compare", "Compare", CompareView,
         "Compare the runs of this session, and past runs you added (press again to go back).",
         in_footer=True, toggle=True),
    View("e", "examples", "Examples", ExamplesView,
         "The images of one confusion cell (the most confused pair, or the one chosen in the matrix) with "
         "their confidence: mistakes the surest first, correct ones the least sure first. ← → image, ↑ ↓ row, "
         "PgUp/PgDn page, Home/End, Esc back to the matrix.", in_footer=True),
    View("w", "sweep", "Sweep", SweepView,
         "A sweep's leaderboard (trial, settings, best validation accuracy, epochs, state) and best-so-far curve."),
)
