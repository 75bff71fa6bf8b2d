"""One row per completed epoch, the best one (by the run's `select`: best.pt's weights) starred."""

from __future__ import annotations

from textual.widgets import DataTable

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import EpochEnded, Event, RunFailed, RunFinished
from fmtui.tui.monitor.widgets import CatchesUpWhenShown
from fmtui.tui.render import format as fmt

COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "time", "best")


class HistoryTable(CatchesUpWhenShown, DataTable):
    """Rows arrive as epochs end but are added at most every EPOCH_REDRAW_SECONDS while the table is
    shown (the linear model ends two epochs a second, and each added row costs a layout pass of the
    whole screen), as soon as it is shown, and at once when a run ends."""

    DEFAULT_CSS = """
    HistoryTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.best_epoch = 0
        self._pending: list[EpochEnded] = []

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    @property
    def epochs_seen(self) -> int:
        """Epochs this table was given: its rows, and those waiting until it is shown."""
        return self.row_count + len(self._pending)

    def reset(self, config: TrainConfig) -> None:
        self.clear()
        self.best_epoch = 0
        self._pending.clear()

    def follow(self, event: Event) -> None:
        if isinstance(event, EpochEnded):
            self._pending.append(event)
        elif isinstance(event, (RunFinished, RunFailed)):
            self.catch_up()

    def catch_up(self) -> None:
        if not self._pending:
            return
        for event in self._pending:
            self.add_row(str(event.epoch), fmt.loss(event.train_loss), fmt.percent(event.train_accuracy),
                         fmt.loss(event.val_loss), fmt.percent(event.val_accuracy), f"{event.lr:.2e}",
                         fmt.duration(event.seconds), "", key=str(event.epoch))
        best = self._pending[-1].best_epoch
        self._pending.clear()
        if best != self.best_epoch:
            for epoch, mark in ((self.best_epoch, ""), (best, "*")):
                if str(epoch) in self.rows:  # a resumed run's best epoch may predate this table
                    self.update_cell(str(epoch), "best", mark, update_width=True)
            self.best_epoch = best
        self.move_cursor(row=self.row_count - 1)  # keep the newest epoch in view
