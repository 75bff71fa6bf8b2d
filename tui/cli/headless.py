"""Subscribers that show a run without the TUI: JSON lines, plain lines, or a rich progress bar.

Each writes to a stream that may go away mid-run; `fmtui train` wraps each in a fmtui.tui.cli.streams.OutputGuard.
"""

from __future__ import annotations

import json
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fmtui.core.engine.events import (
    BatchEnded,
    Diverged,
    EarlyStopped,
    EpochEnded,
    Evaluated,
    Event,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
    TestStarted,
)
from fmtui.core.engine.metrics import most_confused
from fmtui.core.records.status import RunStatus
from fmtui.tui.render import format as fmt


class JsonLines:
    """One JSON object per event per line, flushed at once so a pipe sees each as it happens."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        if event.local:  # the images themselves (DataLoaded): for views in this process, not for a log
            return
        self.stream.write(json.dumps(event.to_dict()) + "\n")
        self.stream.flush()


def describe(event: Event, lost_output: str | None = None) -> str | None:
    """A one-line account of an event for a log, or None for events a log leaves out. ``lost_output``: the
    stream whose closing interrupted the run (nobody pressed Ctrl-C), if that is why."""
    match event:
        case RunStarted():
            first = f", resuming at epoch {event.first_epoch}" if event.first_epoch > 1 else ""
            return (f"{event.preset}: {event.model} ({event.parameters:,} parameters) on {event.device}, "
                    f"{event.train_size:,} training / {event.val_size:,} validation images, "
                    f"up to {fmt.count(event.epochs, 'epoch')}{first} -> {event.run_dir}")
        case EpochEnded():
            best = " *" if event.best_epoch == event.epoch else ""
            return (f"epoch {event.epoch:>{len(str(event.epochs))}}/{event.epochs}  "
                    f"train loss {fmt.loss(event.train_loss)} acc {fmt.percent(event.train_accuracy)}  "
                    f"val loss {fmt.loss(event.val_loss)} acc {fmt.percent(event.val_accuracy)}  "
                    f"lr {event.lr:.2e}  {fmt.duration(event.seconds)}  {fmt.rate(event.images_per_second)}{best}")
        case TestStarted():
            return f"testing the best weights (epoch {event.best_epoch}) on {event.images:,} test images"
        case Evaluated(split="test"):
            pairs = ", ".join(f"{event.class_names[t]} → {event.class_names[p]} {n}"
                              for t, p, n in most_confused(event.confusion))
            return f"test accuracy {fmt.percent(event.accuracy)} (best epoch {event.epoch}); most confused: {pairs}"
        case EarlyStopped():
            return (f"early stop: no better validation {event.best_by} for {event.patience} epochs "
                    f"(best epoch {event.best_epoch})")
        case Paused():
            return f"paused at epoch {event.epoch}, batch {event.batch}"
        case Resumed():
            return "resumed"
        case StopRequested(reason=RunStatus.INTERRUPTED) if lost_output:
            return f"{lost_output} closed: saving the run at the next batch"
        case StopRequested(reason=RunStatus.INTERRUPTED):
            return ("interrupted: saving the run at the next batch (press Ctrl-C again to quit sooner, "
                    "giving up the epoch in progress)")
        case StopRequested():
            return "stopping at the next batch"
        case Diverged():
            return (f"diverged: the training loss became {event.loss} at epoch {event.epoch}; "
                    f"the best checkpoint so far is kept. Lower --lr and try again.")
        case RunFinished(run_dir=None):
            return f"{event.status} while the data loaded: nothing was trained, nothing recorded"
        case RunFinished():
            test = fmt.percent(event.test_accuracy) if event.test_accuracy is not None else "not evaluated"
            line = (f"{event.status}: test accuracy {test}, {fmt.count(event.epochs_completed, 'epoch')}, "
                    f"{fmt.duration(event.seconds)} -> {event.run_dir}")
            if event.status == RunStatus.INTERRUPTED and event.epochs_completed:
                line += f"\ncontinue it with: fmtui train --resume {event.run_dir}"
            return line
        case RunFailed():
            return f"error: {event.error}"
    return None


class PlainLog:
    """One line per epoch (and per notable event) for logs and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lost_output: str | None = None  # set where a closed output, not a signal, interrupts the run

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFailed):
            return  # the CLI reports failures itself, once, with the right exit code
        line = describe(event, self.lost_output)
        if line is not None:
            self.stream.write(line + "\n")
            self.stream.flush()


class ProgressBars:
    """A rich progress display on a terminal: the epoch and the batch within it, above a log."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description:<7}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), console=console, transient=True)
        self.epochs = self.progress.add_task("epochs", total=None, detail="", visible=False)
        self.batches = self.progress.add_task("batches", total=None, detail="", visible=False)
        self.lost_output: str | None = None  # as PlainLog's

    def __call__(self, event: Event) -> None:
        match event:
            case RunStarted():
                self.progress.start()
                self.progress.update(self.epochs, total=event.epochs, completed=event.first_epoch - 1,
                                     visible=True)
                self.progress.update(self.batches, total=event.batches_per_epoch, completed=0, visible=True)
            case BatchEnded():
                self.progress.update(self.batches, completed=event.batch,
                                     detail=f"loss {event.loss:.4f}  {fmt.rate(event.images_per_second)}")
                self.progress.update(self.epochs, detail=f"epoch {event.epoch}")
            case EpochEnded():
                self.progress.update(self.epochs, completed=event.epoch,
                                     detail=f"val acc {fmt.percent(event.val_accuracy)}")
                self.progress.reset(self.batches, total=self.progress.tasks[self.batches].total, detail="")
            case RunFinished():
                self.progress.stop()
            case RunFailed():
                self.progress.stop()
                return
        line = describe(event, self.lost_output)
        if line is not None:
            self.console.print(line, highlight=False, markup=False)
