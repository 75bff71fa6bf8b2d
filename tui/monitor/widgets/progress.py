"""Two progress bars: epochs of the run, and batches of the current epoch with throughput and loss.

Drawn as one widget from two lines of plain styled text: batch progress arrives ten times a second,
and such a line costs far less to render than labels and bar widgets (or a rich Table) would.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import (
    BatchEnded,
    EpochEnded,
    Evaluated,
    Event,
    Paused,
    Resumed,
    RunFinished,
    RunStarted,
    StopRequested,
    TestStarted,
)
from fmtui.tui.monitor.widgets import ThrottledWidget
from fmtui.tui.render import format as fmt

LABEL = 13  # "batch 214/214"


class RunProgress(ThrottledWidget):
    DEFAULT_CSS = """
    RunProgress { height: 2; }
    """

    epoch: reactive[int] = reactive(0)  # the epoch in progress, or the last one when between epochs
    epochs: reactive[int] = reactive(0)
    epochs_done: reactive[int] = reactive(0)
    batch: reactive[int] = reactive(0)
    batches: reactive[int] = reactive(0)
    epoch_note: reactive[str] = reactive("")
    batch_note: reactive[str] = reactive("")

    def reset(self, config: TrainConfig) -> None:
        self.epoch, self.epochs, self.epochs_done = 0, config.epochs, 0
        self.batch = self.batches = 0
        self.epoch_note = self.batch_note = ""

    def follow(self, event: Event) -> None:
        match event:
            case RunStarted():
                self.epoch, self.epochs, self.epochs_done = event.first_epoch, event.epochs, event.first_epoch - 1
                self.batch, self.batches = 0, event.batches_per_epoch
            case BatchEnded():
                # Ten a second: stored without a redraw; the timer shows them once a second.
                for name, value in (("epoch", event.epoch), ("batch", event.batch), ("batches", event.batches),
                                    ("batch_note",
                                     f"{fmt.rate(event.images_per_second)}  loss {fmt.loss(event.loss)}")):
                    self.set_reactive(getattr(RunProgress, name), value)
                self.mark_stale()
            case EpochEnded():  # twice a second for the linear model: drawn with the progress
                # Say what "best" is by (best.pt's weights, by the run's `select`): beside an accuracy, a
                # best by loss would read as the highest accuracy, which an earlier epoch may have had.
                rule = fmt.best_rule(event.best_by)
                best = (f" ({rule} yet)" if event.best_epoch == event.epoch
                        else f" ({rule}: epoch {event.best_epoch})")
                # The epoch and its batches from the epoch's own event too: a monitor attached later has
                # no batch progress of finished epochs (the replayed log leaves it out).
                self.set_reactive(RunProgress.epoch, event.epoch)
                self.set_reactive(RunProgress.epochs, event.epochs)
                self.set_reactive(RunProgress.batch, self.batches)
                self.set_reactive(RunProgress.epochs_done, event.epoch)
                self.set_reactive(RunProgress.epoch_note, f"val acc {fmt.percent(event.val_accuracy)}{best}")
                self.mark_stale()
            case Paused() | Resumed():  # where the run is, even when no batch progress of this epoch was logged
                self.epoch, self.batch = event.epoch, max(event.batch - 1, 0)  # at the boundary before .batch
            case StopRequested():
                self.batch_note = "stopping at the next batch"
            case TestStarted():
                self.batch_note = f"testing epoch {event.best_epoch}'s weights…"
            case RunFinished(test_accuracy=None):
                self.batch_note = (f"{event.status} before an epoch ended: nothing to test"
                                   if not event.epochs_completed else f"{event.status}: not tested")
            case Evaluated(split="test"):
                self.batch_note = f"test acc {fmt.percent(event.accuracy)} · best ep {event.epoch}"  # fits 80 columns

    def render(self) -> Text:
        width = self.size.width
        # The bars give way to the notes: a number is never cut to make room for a bar.
        room = width - LABEL - 7 - max(len(self.epoch_note), len(self.batch_note))
        bar_width = max(10, min(48, (width - LABEL - 6) // 2, room))
        digits = len(str(self.batches))
        rows = ((f"epoch {self.epoch or '–'}/{self.epochs or '–'}", self.epochs_done, self.epochs, self.epoch_note),
                (f"batch {self.batch:>{digits}}/{self.batches}" if self.batches else "batch –", self.batch,
                 self.batches, self.batch_note))
        lines = []
        for label, done, total, note in rows:
            fraction = min(1.0, done / total) if total else 0.0
            filled = round(bar_width * fraction)
            line = Text(f"{label:<{LABEL}} ", no_wrap=True, overflow="ellipsis")
            line.append("━" * filled, style="green3" if fraction >= 1 else "dodger_blue2")
            line.append("━" * (bar_width - filled), style="grey30")
            line.append(f" {int(100 * fraction):>3}% ")
            line.append(note, style="dim")
            line.truncate(width, overflow="ellipsis")
            lines.append(line)
        return Text("\n").join(lines)
