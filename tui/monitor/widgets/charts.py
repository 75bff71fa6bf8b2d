"""Loss and accuracy per epoch, and the running batch loss of the current epoch, as plotext charts.

Events only change the data; the charts are rebuilt on timers (the epoch charts every
EPOCH_REDRAW_SECONDS, the batch chart every BATCH_REDRAW_SECONDS), so a fast stream of batch progress
costs list appends and never a redraw per event.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import BatchEnded, EpochEnded, Event, RunStarted
from fmtui.tui.monitor.widgets import EPOCH_REDRAW_SECONDS
from fmtui.tui.monitor.widgets.line_chart import Line, LineChart

BATCH_REDRAW_SECONDS = 4.0  # a plotext rebuild (~20 ms) is the dearest thing the monitor does, and on a
# 2-core machine every millisecond of it is taken from training: every 4 s is live enough for an epoch
# that lasts minutes (the epoch charts, by contrast, change only when an epoch ends)
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
        self.redraws = 0  # how many times a chart was rebuilt; tests check the throttle with it
        # The epoch charts change once an epoch, the batch chart with each progress event.
        self._epochs_dirty = self._batches_dirty = True

    def compose(self) -> ComposeResult:
        self.loss_plot, self.accuracy_plot, self.batch_plot = (
            LineChart(id="loss"), LineChart(id="accuracy"), LineChart(id="batch-loss"))
        yield self.loss_plot
        yield self.accuracy_plot
        yield self.batch_plot

    def on_mount(self) -> None:
        self.set_interval(EPOCH_REDRAW_SECONDS, self._redraw_epochs)
        self.set_interval(BATCH_REDRAW_SECONDS, self._redraw_batches)
        self.redraw_if_changed()

    def reset(self, config: TrainConfig) -> None:
        drawn = bool(self.epochs or self.batch_x or self.epoch)
        for series in (self.epochs, self.train_loss, self.val_loss, self.train_acc, self.val_acc, self.batch_x,
                       self.batch_loss):
            series.clear()
        self.epoch = self.batches = 0
        if drawn:  # at once: the previous run's curves must not linger under the new name
            self._epochs_dirty = self._batches_dirty = True
            self.redraw_if_changed()
        # (Empty charts are already drawn empty: redrawing them would take three chart builds from the
        # first second of training.)

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
                self._batches_dirty = True
            case EpochEnded():
                self.epochs.append(event.epoch)
                self.train_loss.append(event.train_loss)
                self.val_loss.append(event.val_loss)
                self.train_acc.append(event.train_accuracy * 100)
                self.val_acc.append(event.val_accuracy * 100)
                self._epochs_dirty = True

    def redraw_if_changed(self) -> None:
        """Rebuild whichever charts have new data (the timers call the two halves at their own pace)."""
        self._redraw_epochs()
        self._redraw_batches()

    def _redraw_epochs(self) -> None:
        if self._epochs_dirty:
            self._epochs_dirty = False
            self.redraws += 1
            self._draw_epochs(self.loss_plot, "loss per epoch", self.train_loss, self.val_loss)
            self._draw_epochs(self.accuracy_plot, "accuracy % per epoch", self.train_acc, self.val_acc, percent=True)

    def _redraw_batches(self) -> None:
        if self._batches_dirty:
            self._batches_dirty = False
            self.redraws += 1
            self._draw_batches()

    def _draw_batches(self) -> None:
        last = max(self.batches, 1)
        self.batch_plot.draw(f"batch loss, epoch {self.epoch}" if self.epoch else "batch loss",
                             [Line("", TRAIN_COLOUR, self.batch_x, self.batch_loss)],
                             xlim=(0, last), xticks=whole_ticks(0, last))

    def _draw_epochs(self, chart: LineChart, title: str, train: list[float], val: list[float],
                     percent: bool = False) -> None:
        ticks = whole_ticks(self.epochs[0], self.epochs[-1]) if self.epochs else None
        chart.draw(title, [Line("train", TRAIN_COLOUR, self.epochs, train), Line("val", VAL_COLOUR, self.epochs, val)],
                   percent=percent, xticks=ticks)


def whole_ticks(first: int, last: int, most: int = 6) -> list[int]:
    """Whole-number ticks (epochs, batches), at most about ``most`` of them, ending on ``last``."""
    step = max(1, -(-(last - first) // (most - 1)))
    ticks = list(range(first, last + 1, step))
    if ticks[-1] != last:
        ticks[-1 if last - ticks[-1] < step / 2 else len(ticks):] = [last]
    return ticks
