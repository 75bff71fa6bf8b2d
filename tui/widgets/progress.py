"""Two progress bars: epochs of the run, and batches of the current epoch with throughput and loss."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, ProgressBar

from core.config import TrainConfig
from core.events import BatchEnded, EpochEnded, Evaluated, Event, RunStarted, StopRequested
from tui import format as fmt


class RunProgress(Widget):
    DEFAULT_CSS = """
    RunProgress { height: 2; }
    RunProgress Horizontal { height: 1; }
    RunProgress .what { width: 15; }
    RunProgress ProgressBar { width: 1fr; max-width: 46; }
    RunProgress Bar { width: 1fr; }
    RunProgress .detail { width: 1fr; padding-left: 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        # A known total from the start: an indeterminate bar animates, costing redraws for nothing.
        with Horizontal():
            yield Label("epoch –", id="epoch-label", classes="what")
            yield ProgressBar(total=1, show_eta=False, id="epoch-bar")
            yield Label("", id="epoch-detail", classes="detail")
        with Horizontal():
            yield Label("batch –", id="batch-label", classes="what")
            yield ProgressBar(total=1, show_eta=False, id="batch-bar")
            yield Label("", id="batch-detail", classes="detail")

    def reset(self, config: TrainConfig) -> None:
        self._set("epoch", f"epoch 0/{config.epochs}", 0, config.epochs, "")
        self._set("batch", "batch –", 0, 1, "")

    def follow(self, event: Event) -> None:
        match event:
            case RunStarted():
                self._set("epoch", f"epoch {event.first_epoch}/{event.epochs}", event.first_epoch - 1,
                          event.epochs, "")
                self._set("batch", f"batch 0/{event.batches_per_epoch}", 0, event.batches_per_epoch, "")
            case BatchEnded():
                width = len(str(event.batches))
                self._set("batch", f"batch {event.batch:>{width}}/{event.batches}", event.batch, event.batches,
                          f"{fmt.rate(event.images_per_second)}  loss {fmt.loss(event.loss)}")
                self.query_one("#epoch-label", Label).update(f"epoch {event.epoch}/{event.epochs}")
            case EpochEnded():
                best = ", best so far" if event.best_epoch == event.epoch else f" (best: epoch {event.best_epoch})"
                self._set("epoch", f"epoch {event.epoch}/{event.epochs}", event.epoch, event.epochs,
                          f"val acc {fmt.percent(event.val_accuracy)}{best}")
            case StopRequested():
                self.query_one("#batch-detail", Label).update("stopping at the next batch")
            case Evaluated(split="test"):
                self.query_one("#batch-detail", Label).update(
                    f"test acc {fmt.percent(event.accuracy)} (best epoch {event.epoch})")

    def _set(self, which: str, label: str, progress: float, total: float, detail: str) -> None:
        self.query_one(f"#{which}-label", Label).update(label)
        self.query_one(f"#{which}-bar", ProgressBar).update(total=total, progress=progress)
        self.query_one(f"#{which}-detail", Label).update(detail)
