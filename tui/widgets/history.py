"""One row per completed epoch, the best one (lowest validation loss) starred."""

from __future__ import annotations

from textual.widgets import DataTable

from core.config import TrainConfig
from core.events import EpochEnded, Event
from tui import format as fmt

COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "time", "best")


class HistoryTable(DataTable):
    DEFAULT_CSS = """
    HistoryTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.best_epoch = 0

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def reset(self, config: TrainConfig) -> None:
        self.clear()
        self.best_epoch = 0

    def follow(self, event: Event) -> None:
        if not isinstance(event, EpochEnded):
            return
        self.add_row(str(event.epoch), fmt.loss(event.train_loss), fmt.percent(event.train_accuracy),
                     fmt.loss(event.val_loss), fmt.percent(event.val_accuracy), f"{event.lr:.2e}",
                     fmt.duration(event.seconds), "", key=str(event.epoch))
        if event.best_epoch != self.best_epoch:
            for epoch, mark in ((self.best_epoch, ""), (event.best_epoch, "*")):
                if str(epoch) in self.rows:  # a resumed run's best epoch may predate this table
                    self.update_cell(str(epoch), "best", mark, update_width=True)
            self.best_epoch = event.best_epoch
        self.move_cursor(row=self.row_count - 1)  # keep the newest epoch in view
