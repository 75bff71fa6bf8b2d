"""Loss and accuracy per epoch, and the running batch loss of the current epoch, as plotext charts.

Events only change the data; the charts are rebuilt on a timer, at most twice a second, so a fast
stream of batch progress costs list appends and never a redraw per event.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

from core.config import TrainConfig
from core.events import BatchEnded, EpochEnded, Event, RunStarted

REDRAW_SECONDS = 0.5
TRAIN_COLOUR, VAL_COLOUR = "cyan", "orange"  # plotext names; both exist in the 256-colour palette


class Charts(Grid):
    DEFAULT_CSS = """
    Charts { grid-size: 2 2; grid-rows: 1fr 1fr; grid-columns: 1fr 1fr; grid-gutter: 0 1; }
    Charts #batch-loss { column-span: 2; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.epochs: list[int] = []
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.train_acc: list[float] = []
        self.val_acc: list[float] = []
        self.epoch = 0  # the epoch the batch losses belong to
        self.batches = 0
        self.batch_x: list[int] = []
        self.batch_loss: list[float] = []
        self.redraws = 0  # how many times the charts were rebuilt; tests check the throttle with it
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="loss")
        yield PlotextPlot(id="accuracy")
        yield PlotextPlot(id="batch-loss")

    def on_mount(self) -> None:
        self.set_interval(REDRAW_SECONDS, self.redraw_if_changed)
        self.redraw_if_changed()

    def reset(self, config: TrainConfig) -> None:
        for series in (self.epochs, self.train_loss, self.val_loss, self.train_acc, self.val_acc, self.batch_x,
                       self.batch_loss):
            series.clear()
        self.epoch = self.batches = 0
        self._dirty = True

    def follow(self, event: Event) -> None:
        match event:
            case RunStarted():
                self.batches = event.batches_per_epoch
            case BatchEnded():
                if event.epoch != self.epoch:
                    self.epoch, self.batches = event.epoch, event.batches
                    self.batch_x.clear()
                    self.batch_loss.clear()
                self.batch_x.append(event.batch)
                self.batch_loss.append(event.loss)
                self._dirty = True
            case EpochEnded():
                self.epochs.append(event.epoch)
                self.train_loss.append(event.train_loss)
                self.val_loss.append(event.val_loss)
                self.train_acc.append(event.train_accuracy * 100)
                self.val_acc.append(event.val_accuracy * 100)
                self._dirty = True

    def redraw_if_changed(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        self._draw_epochs(self.query_one("#loss", PlotextPlot), "loss per epoch", self.train_loss, self.val_loss)
        self._draw_epochs(self.query_one("#accuracy", PlotextPlot), "accuracy % per epoch", self.train_acc,
                          self.val_acc)
        plot = self.query_one("#batch-loss", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"batch loss, epoch {self.epoch}" if self.epoch else "batch loss")
        if self.batch_loss:
            # Non-finite losses (a diverging run) would break plotext's axis scaling.
            points = [(x, y) for x, y in zip(self.batch_x, self.batch_loss) if y == y and abs(y) != float("inf")]
            if points:
                plt.plot([x for x, _ in points], [y for _, y in points], color=TRAIN_COLOUR, marker="hd")
            plt.xlim(0, max(self.batches, 1))
            plt.xticks(whole_ticks(0, max(self.batches, 1)))
        plot.refresh()

    def _draw_epochs(self, plot: PlotextPlot, title: str, train: list[float], val: list[float]) -> None:
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if self.epochs:
            plt.plot(self.epochs, train, label="train", color=TRAIN_COLOUR, marker="hd")
            plt.plot(self.epochs, val, label="val", color=VAL_COLOUR, marker="hd")
            plt.xticks(whole_ticks(self.epochs[0], self.epochs[-1]))
        plot.refresh()


def whole_ticks(first: int, last: int, most: int = 6) -> list[int]:
    """Whole-number ticks (epochs, batches), at most about ``most`` of them, ending on ``last``."""
    step = max(1, -(-(last - first) // (most - 1)))
    ticks = list(range(first, last + 1, step))
    if ticks[-1] != last:
        ticks[-1 if last - ticks[-1] < step / 2 else len(ticks):] = [last]
    return ticks
