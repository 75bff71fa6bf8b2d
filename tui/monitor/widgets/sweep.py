"""A sweep's leaderboard and its best-so-far curve, read from the study's storage about once a second.

The study may be fed by this process or by workers on other machines: either way the storage is the
truth, so this view reads it (in a thread worker: a database across a network can take a while)
instead of following one trainer's events. The worker only posts what it read; it is cancelled with
the view's screen, and what a cancelled read brings back is dropped. In a monitor with no sweep the
view says how to start or follow one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, get_current_worker
from textual_plotext import PlotextPlot

from fmtui.tui.monitor.widgets.charts import whole_ticks
from fmtui.tui.render import format as fmt

if TYPE_CHECKING:
    from fmtui.core.sweep.leaderboard import Snapshot

POLL_SECONDS = 1.0  # at most one read of the storage a second, and never two at once
COLUMNS = ("trial", "state", "best val", "epochs", "settings")
STATE_STYLE = {"complete": "green", "running": "cyan", "pruned": "magenta", "failed": "red", "waiting": "dim"}
NO_SWEEP = ("No sweep in this monitor. `fmtui sweep PRESET --trials N --param lr=log:1e-4:1e-2` runs one and "
            "shows its leaderboard here; `fmtui sweep --study NAME --watch` follows one that runs elsewhere.")


class SweepView(Vertical):
    DEFAULT_CSS = """
    SweepView #sweep-title { height: auto; padding: 0 1; }
    SweepView #leaderboard { height: 1fr; min-height: 4; }
    SweepView #best-curve { height: 8; }
    """

    class Read(Message):
        """A snapshot of the study (or why it could not be read), from the reading worker."""

        def __init__(self, snapshot: Snapshot | None, problem: str = "") -> None:
            super().__init__()
            self.snapshot = snapshot
            self.problem = problem

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self.problem = ""
        self.reads = 0  # storage reads shown; tests check the polling with it
        self._read: Callable[[], Snapshot] | None = None
        self._reader: Worker[None] | None = None  # the latest read of the storage

    def compose(self) -> ComposeResult:
        self.title_line = Static(Text(NO_SWEEP, style="dim"), id="sweep-title")
        self.table = DataTable(id="leaderboard", cursor_type="row", zebra_stripes=True)
        self.chart = PlotextPlot(id="best-curve")
        yield self.title_line
        yield self.table
        yield self.chart

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.table.add_column(name, key=name)
        self.table.display = self.chart.display = False

    def watch_study(self, read: Callable[[], Snapshot]) -> None:
        """Show the study that ``read`` returns (called in a thread worker), refreshed every POLL_SECONDS."""
        self._read = read
        self.table.display = self.chart.display = True
        self.title_line.update(Text("reading the study...", style="dim"))
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def poll(self) -> None:
        """Read the study again, unless the last read is still out: a slow storage is never asked twice at once."""
        if self._read is not None and (self._reader is None or self._reader.is_finished):
            self._reader = self._read_study(self._read)

    @work(thread=True, exclusive=True, group="sweep-read", name="fmtui-sweep-read")
    def _read_study(self, read: Callable[[], Snapshot]) -> None:
        try:
            message = self.Read(read())
        except Exception as exc:  # the storage went away: said on the title line, and tried again
            message = self.Read(None, f"{type(exc).__name__}: {exc}")
        if not get_current_worker().is_cancelled:  # the view has gone with its screen: no one to tell
            self.post_message(message)  # thread-safe and never blocks, unlike call_from_thread

    def on_sweep_view_read(self, message: Read) -> None:
        self.problem = message.problem
        if message.snapshot is not None:
            changed = message.snapshot != self.snapshot
            self.snapshot = message.snapshot
            self.reads += 1
            if changed:
                self._draw()
        self.title_line.update(self._title())

    def _title(self) -> Text:
        snap = self.snapshot
        if snap is None:
            return Text(f"cannot read the study: {self.problem}" if self.problem else "reading the study...",
                        style="red" if self.problem else "dim")
        counts = ", ".join(f"{n} {state}" for state, n in snap.counts.items()) or "no trials yet"
        target = f"{snap.done}/{snap.target}" if snap.target else str(snap.done)
        text = Text.assemble(("sweep ", "dim"), (snap.study, "bold"), f"  {target} done  ({counts})")
        best = snap.best
        if best is not None:
            text.append(f"  best: trial {best.number}, {fmt.percent(best.value)}")
        if self.problem:
            text.append(f"  (storage: {self.problem})", style="red")
        return text

    def _draw(self) -> None:
        snap = self.snapshot
        self.table.clear()
        for row in snap.rows:
            self.table.add_row(str(row.number), Text(row.state, style=STATE_STYLE.get(row.state, "")),
                               fmt.percent(row.value), str(row.epochs), Text(row.settings()), key=str(row.number))
        plt = self.chart.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("best validation accuracy % so far, by trial")
        if snap.best_curve:
            xs = [n for n, _ in snap.best_curve]
            plt.plot(xs, [v * 100 for _, v in snap.best_curve], color="green", marker="hd")
            complete = [r for r in snap.rows if r.state == "complete" and r.value is not None]
            plt.scatter([r.number for r in complete], [r.value * 100 for r in complete], color="cyan", marker="dot")
            plt.xticks(whole_ticks(xs[0], xs[-1]))
            values = [v * 100 for _, v in snap.best_curve] + [r.value * 100 for r in complete]
            low, high = math.floor(min(values)) - 1, min(math.ceil(max(values)) + 1, 100)
            plt.ylim(low, max(high, low + 2))  # plotext's own range is wild when every value is the same
        self.chart.refresh()
