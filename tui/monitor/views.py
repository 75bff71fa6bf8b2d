"""The monitor's views and keys: tables from which the app builds its bindings, its tabs and its help.

Adding a view is one widget module in ``widgets/`` and one entry in VIEWS; its key, its tab, its footer
entry and its help line all come from that entry. A view widget that has ``reset(config)`` and
``follow(event)`` (``widgets.RunView``) is fed the current run's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.widget import Widget

from fmtui.tui.monitor.widgets.charts import Charts
from fmtui.tui.monitor.widgets.compare import CompareView
from fmtui.tui.monitor.widgets.confusion import ConfusionView
from fmtui.tui.monitor.widgets.examples import ExamplesView
from fmtui.tui.monitor.widgets.explain import ExplainView
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

    @property
    def label(self) -> str:
        return f"{self.key} {self.title}"  # the tab says which key shows it


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
         "PgUp/PgDn page, Home/End, a the model's map over the picture, Esc back to the matrix.", in_footer=True),
    View("x", "explain", "Explain", ExplainView,
         "Why the model decides as it does, from its best weights so far: i the examples view's image (maps "
         "toward the class said and the true one), l what it learned (templates or filters), d the cell's "
         "confusion (class means, their difference, the mistakes' average map); g changes the map.", scroll=True),
    View("w", "sweep", "Sweep", SweepView,
         "A sweep's leaderboard (trial, settings, best validation accuracy, epochs, state) and best-so-far curve."),
)
VIEW = {view.id: view for view in VIEWS}


@dataclass(frozen=True)
class Key:
    """A key of the monitor: its binding, its word in the footer and its line on the help screen."""

    key: str  # Textual's name for it ("question_mark"); with no action, written as the help shows it
    action: str | None  # None: keys the widgets handle themselves (the tabs' arrows), only explained
    title: str = ""  # the footer's word for it
    help: str = ""  # its help line; "" where another line says it (p's Resume) or a view's does (m)
    display: str | None = None  # how the footer writes the key
    help_key: str | None = None  # how the help writes it, where neither the name nor ``display`` reads well
    show: bool = True  # in the footer
    in_dialogs: bool = False  # it works while a dialog is open too (quitting); the monitor's other keys wait
    priority: bool = False  # it comes before any widget's own use of the key

    @property
    def said(self) -> str:
        return self.help_key or self.display or self.key

    @property
    def action_name(self) -> str:
        return (self.action or "").partition("(")[0]

    def binding(self) -> Binding:
        assert self.action is not None, f"{self.key} is explained, not bound"
        return Binding(self.key, self.action, self.title, show=self.show, key_display=self.display,
                       priority=self.priority)


def view_key(view: View, *, show: bool | None = None) -> Key:
    """The key that shows ``view``; ``show`` puts it in the footer (or not) whatever the view's entry says."""
    return Key(view.key, f"view('{view.id}')", view.title, help=f"{view.title}: {view.help}",
               show=view.in_footer if show is None else show)


# In the footer's order (the footer shows the bindings in the order they are made).
KEYS = (
    Key("n", "new_run", "New run", "New run: pick a preset, change epochs and learning rate, Enter starts it. "
                                   "A running run is stopped first (you are asked)."),
    # Two bindings on p: check_action shows whichever applies.
    Key("p", "pause", "Pause", "Pause or resume training (takes effect at the next batch)."),
    Key("p", "resume", "Resume"),
    Key("s", "stop", "Stop", "Stop early: the best weights are still tested and the record completed."),
    *(view_key(view) for view in VIEWS),
    Key("← →", None, help="Previous or next view when the view tabs have focus; Tab moves focus."),
    Key("m", "matrix", "Counts/%", show=False),  # the matrix's title names m; the footer is full
    Key("question_mark", "help", "Help", "This help.", display="?"),
    Key("o", "predict", "Photo", "Classify a photo of your own (a PNG or JPEG path) with the newest run's best "
                                 "weights, shown as the model sees it; as `fmtui predict` does.", show=False),
    Key("r", "past_runs", "Past runs", "Past runs in the runs directory, with their settings: Enter opens one "
                                       "in every view, c adds it to the comparison, r resumes an interrupted or "
                                       "stopped run from its last complete epoch."),
    Key("q", "quit", "Quit", "Quit. While a run is active you are asked; it is then stopped and its record "
                             "completed before fmtui exits.", in_dialogs=True),
    # Ctrl-C in a terminal program means "stop now": no question, the run ends interrupted (resumable).
    Key("ctrl+c", "interrupt", "Interrupt", "Quit at once: a run in progress ends as interrupted, its state "
                                            "saved for --resume.", help_key="Ctrl-C", show=False, in_dialogs=True,
        priority=True),
)


def bindings(keys: tuple[Key, ...]) -> list[Binding]:
    return [key.binding() for key in keys if key.action is not None]


def gated_actions(keys: tuple[Key, ...]) -> frozenset[str]:
    """The actions an open dialog holds back: its own keys come first (q still quits)."""
    return frozenset(key.action_name for key in keys if key.action is not None and not key.in_dialogs)
