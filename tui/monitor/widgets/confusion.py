"""The latest confusion matrix (validation after each epoch, test at the end), its per-class precision,
recall and F1 with the worst class pointed out, and its worst mix-ups. The arrow keys move a cursor over
the cells; Enter asks for the images of the cell under it (the app shows them in the examples view)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import Evaluated, Event
from fmtui.core.engine.metrics import most_confused, worst_class
from fmtui.tui.monitor.widgets import EPOCH_REDRAW_SECONDS, ThrottledWidget
from fmtui.tui.render import format as fmt
from fmtui.tui.render.confusion_table import confusion_table


class ConfusionView(ThrottledWidget, can_focus=True):
    DEFAULT_CSS = """
    ConfusionView { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("enter", "choose", "Images", show=False),
    ]

    class CellChosen(Message):
        """A person asked for the images of class ``true`` predicted as ``predicted``."""

        def __init__(self, true: int, predicted: int) -> None:
            super().__init__()
            self.true, self.predicted = true, predicted

    percent: reactive[bool] = reactive(False)  # row-normalised percentages instead of counts
    evaluation: reactive[Evaluated | None] = reactive(None)
    cursor: reactive[tuple[int, int] | None] = reactive(None)  # (true, predicted); None: the worst pair

    redraw_seconds = EPOCH_REDRAW_SECONDS  # an evaluation arrives once an epoch

    def reset(self, config: TrainConfig) -> None:
        self.evaluation = None
        self.cursor = None

    def follow(self, event: Event) -> None:
        if isinstance(event, Evaluated):
            # Twice a second for the linear model: stored (no reactive comparison of two 10x10
            # matrices), drawn on the timer; the final test report at once.
            self.set_reactive(ConfusionView.evaluation, event)
            if event.split == "test":
                self.refresh()
            else:
                self.mark_stale()

    def current(self) -> tuple[int, int] | None:
        """The cell under the cursor; until it is moved, the most confused pair."""
        if self.cursor is not None or self.evaluation is None:
            return self.cursor
        pairs = most_confused(self.evaluation.confusion, k=1)
        return pairs[0][:2] if pairs else (0, 0)

    def action_move(self, rows: int, columns: int) -> None:
        cell = self.current()
        if cell is None:
            return
        size = len(self.evaluation.class_names)
        self.cursor = ((cell[0] + rows) % size, (cell[1] + columns) % size)

    def action_choose(self) -> None:
        cell = self.current()
        if cell is not None:
            self.post_message(self.CellChosen(*cell))

    def render(self) -> RenderableType:
        e = self.evaluation
        if e is None:
            return Text("The confusion matrix appears when the first epoch has been validated.", style="dim")
        split = "test set, best weights (epoch" if e.split == "test" else "validation set (epoch"
        shown = "row %" if self.percent else "counts"
        title = Text.assemble((f"{split} {e.epoch}): ", "bold"), f"accuracy {fmt.percent(e.accuracy)}  ",
                              (f"[{shown}, m switches]", "dim"))
        width = max(self.size.width, 40)
        # As many of the three worst pairs as fit on one line: at 80x24 the matrix needs every other line.
        confused = Text("most confused: ", style="bold")
        pairs = [f"{e.class_names[t]} → {e.class_names[p]} {n:,}" for t, p, n in most_confused(e.confusion, k=3)]
        shown_pairs = []
        for pair in pairs:
            if confused.cell_len + len("  ·  ".join([*shown_pairs, pair])) > width and shown_pairs:
                break
            shown_pairs.append(pair)
        confused.append("  ·  ".join(shown_pairs) or "nothing")
        parts = [title, confusion_table(e.confusion, e.class_names, e.precision, e.recall, f1=e.f1 or None,
                                        percent=self.percent, cursor=self.current()), confused]
        worst = worst_class(e.f1) if e.f1 else None
        footnote = Text()
        if worst is not None:
            footnote.append("worst class: ", style="bold")
            footnote.append(f"{e.class_names[worst]} (F1 {fmt.percent(e.f1[worst], 1)})", style="red1")
            footnote.append("  ·  ")
        footnote.append("arrows pick a cell, Enter shows its images", style="dim")
        footnote.truncate(width, overflow="ellipsis")
        return Group(*parts, footnote)
