"""The latest confusion matrix (validation after each epoch, test at the end) and its worst mix-ups."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive

from core.config import TrainConfig
from core.events import Evaluated, Event
from core.metrics import most_confused
from tui import format as fmt
from tui.confusion_table import confusion_table
from tui.monitor.widgets import EPOCH_REDRAW_SECONDS, ThrottledWidget


class ConfusionView(ThrottledWidget):
    DEFAULT_CSS = """
    ConfusionView { height: auto; padding: 0 1; }
    """

    percent: reactive[bool] = reactive(False)  # row-normalised percentages instead of counts
    evaluation: reactive[Evaluated | None] = reactive(None)

    redraw_seconds = EPOCH_REDRAW_SECONDS  # an evaluation arrives once an epoch

    def reset(self, config: TrainConfig) -> None:
        self.evaluation = None

    def follow(self, event: Event) -> None:
        if isinstance(event, Evaluated):
            # Twice a second for the linear model: stored (no reactive comparison of two 10x10
            # matrices), drawn on the timer; the final test report at once.
            self.set_reactive(ConfusionView.evaluation, event)
            if event.split == "test":
                self.refresh()
            else:
                self.mark_stale()

    def render(self) -> RenderableType:
        e = self.evaluation
        if e is None:
            return Text("The confusion matrix appears when the first epoch has been validated.", style="dim")
        split = "test set, best weights (epoch" if e.split == "test" else "validation set (epoch"
        shown = "row %" if self.percent else "counts"
        title = Text.assemble((f"{split} {e.epoch}): ", "bold"), f"accuracy {fmt.percent(e.accuracy)}  ",
                              (f"[{shown}, m switches]", "dim"))
        pairs = most_confused(e.confusion, k=3)
        confused = Text("most confused: ", style="bold")
        confused.append("  ·  ".join(f"{e.class_names[t]} → {e.class_names[p]} {n:,}" for t, p, n in pairs)
                        or "nothing")
        table = confusion_table(e.confusion, e.class_names, e.precision, e.recall, percent=self.percent)
        return Group(title, table, confused)
