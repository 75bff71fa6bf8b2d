"""Numbers formatted for people: percentages, durations, throughputs, and a past run as table cells."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.text import Text

from fmtui.core.models import model_label
from fmtui.core.records.status import RunStatus

if TYPE_CHECKING:
    from fmtui.core.config.presets import PresetInfo


def percent(fraction: float | None, digits: int = 2) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "–"
    return f"{fraction * 100:.{digits}f}%"


def duration(seconds: float | None) -> str:
    """3.2 s, 4m 05s, 1h 02m."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def rate(per_second: float | None) -> str:
    if per_second is None or not math.isfinite(per_second):
        return "–"
    if per_second >= 10_000:
        return f"{per_second / 1000:,.0f}k img/s"
    return f"{per_second:,.0f} img/s"


def count(n: int, noun: str) -> str:
    """1 epoch, 2 epochs."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def best_rule(best_by: str) -> str:
    """What made an epoch the best one (the run's ``select``), in the words beside it: "lowest val loss"."""
    return "highest val acc" if best_by == "accuracy" else "lowest val loss"


def loss(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if math.isfinite(value) else str(value)


def started(summary: dict[str, Any]) -> str:
    """When a run started, as MM-DD HH:MM: the year is rarely in doubt, columns are."""
    return (summary.get("started_at") or "")[5:16].replace("T", " ")


def run_cells(summary: dict[str, Any]) -> tuple[str, ...]:
    """A run's summary as the cells that list it: started, preset, status, epochs, best validation
    accuracy, test accuracy, duration. Shared by `fmtui runs` and the monitor's past-runs list."""
    return (started(summary), summary.get("preset", "?"), summary.get("status", "?"),
            f"{summary.get('epochs', 0)}/{summary.get('epochs_planned', '?')}",
            percent(summary.get("best_val_accuracy")), percent(summary.get("test_accuracy")),
            duration(summary.get("duration_seconds")))


STATUS_STYLE: dict[str, str] = {
    RunStatus.RUNNING: "cyan", RunStatus.FINISHED: "green", RunStatus.STOPPED: "yellow", RunStatus.PRUNED: "magenta",
    RunStatus.INTERRUPTED: "yellow", RunStatus.DIVERGED: "red", RunStatus.FAILED: "red", RunStatus.KILLED: "red",
    "unreadable": "red",  # a record that cannot be read (fmtui.core.records.listing.run_summary)
}


def status_text(status: str) -> Text:
    """A run's status, coloured: green done, yellow resumable, magenta cut short by a sweep, red lost or broken."""
    return Text(status, style=STATUS_STYLE.get(status.split()[0], "white"))  # "running on HOST" too


def preset_text(info: PresetInfo) -> Text:
    """A preset as the menu and `fmtui presets` list it: name, model and size, what it is for, what it
    measured; or why its file cannot be used."""
    text = Text(info.name, style="bold")
    if info.yours:  # a person's own preset, not shipped with fmtui: marked, with its file
        text.append(f"  yours: {info.path}", style="italic cyan")
    if info.config is None:
        text.append(f"\n{info.problem}", style="red")
        return text
    parameters = info.measured.get("parameters")
    size = f"{parameters:,} parameters, " if parameters else ""
    model = model_label(info.config.model)  # your own model by its file's name, not its whole path
    if info.yours:  # the file's path takes the first line
        text.append("\n")
    text.append(f"  {model}, {size}{info.config.epochs} epochs, lr {info.config.lr:g}", style="dim")
    text.append(f"\n{info.config.description}")
    measured = [f"{where} {info.measured[key]}" for key, where in (("cpu", "CPU"), ("gpu", "GPU"))
                if key in info.measured]
    if measured:
        text.append(f"\n{' · '.join(measured)}", style="dim")
    return text
