"""How a sweep is shown without the monitor: each trial's progress on stderr, a line (or JSON object) per
finished trial, and the leaderboard at the end."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fmtui.tui.render import format as fmt

if TYPE_CHECKING:
    from fmtui.core.config.settings import TrainConfig
    from fmtui.core.sweep.leaderboard import Snapshot, TrialRow
    from fmtui.core.sweep.space import Plan

STATE_STYLE = {"complete": "green", "running": "cyan", "pruned": "magenta", "failed": "red", "waiting": "dim"}


def trial_line(row: TrialRow) -> str:
    what = {"complete": "complete", "pruned": f"pruned ({row.status})" if row.status not in ("", "pruned")
            else "pruned"}.get(row.state, row.state)
    return (f"trial {row.number} {what}: best val {fmt.percent(row.value)} after {fmt.count(row.epochs, 'epoch')}"
            f" ({row.settings()})")


def trial_display(plan: Plan) -> Callable[[int, TrainConfig, Any], None]:
    """Sweep.on_trial without the monitor: each trial's progress on stderr, as `fmtui train` shows a run."""
    from fmtui.core.engine.events import Event, RunFinished
    from fmtui.core.sweep.space import WIDTH
    from fmtui.tui.cli.headless import PlainLog, ProgressBars

    def show(number: int, config: TrainConfig, trainer: Any) -> None:
        values = {p.name: config.widths[0] if p.name == WIDTH else getattr(config, p.name) for p in plan.params}
        settings = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        print(f"trial {number} of study {config.study}: {settings}", file=sys.stderr, flush=True)
        log = ProgressBars(Console(stderr=True, highlight=False)) if sys.stderr.isatty() else PlainLog(sys.stderr)

        def follow(event: Event) -> None:
            if isinstance(event, RunFinished) and event.status == "interrupted":
                # Not `fmtui train --resume`: the study records this trial as failed and the same sweep
                # command carries on with a new one.
                print(f"trial {number} interrupted after {event.epochs_completed} epochs: the study records it "
                      f"as failed; run the same command to continue the sweep ({event.run_dir})", file=sys.stderr,
                      flush=True)
                if isinstance(log, ProgressBars):
                    log.progress.stop()
                return
            log(event)

        trainer.subscribe(follow)

    return show


class TrialReport:
    """Sweep.on_trial_end for headless mode: a JSON object on ``out`` with --json, else a line on stderr."""

    def __init__(self, study: str, json_out: IO[str] | None) -> None:
        self.study = study
        self.json_out = json_out

    def __call__(self, row: TrialRow) -> None:
        if self.json_out is not None:
            self.json_out.write(json.dumps({"event": "trial_ended", "study": self.study, **row.to_dict()}) + "\n")
            self.json_out.flush()
        else:
            print(trial_line(row), file=sys.stderr, flush=True)


def leaderboard_table(snap: Snapshot, limit: int | None = None) -> Table:
    table = Table(title=f"Sweep {snap.study}: {_counts(snap)}", title_justify="left", box=None, pad_edge=False,
                  header_style="bold underline")
    for header in ("trial", "state", "best val", "epochs", "time", "settings"):
        table.add_column(header, no_wrap=header != "settings", justify="right" if header in (
            "trial", "best val", "epochs", "time") else "left", overflow="fold")
    for row in snap.rows[:limit]:
        table.add_row(str(row.number), Text(row.state, style=STATE_STYLE.get(row.state, "")),
                      fmt.percent(row.value), str(row.epochs), fmt.duration(row.seconds), Text(row.settings()))
    return table


def _counts(snap: Snapshot) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in snap.counts.items()) or "no trials"
    return f"{snap.done}/{snap.target or '?'} done ({counts})"


def print_summary(snap: Snapshot, *, preset: Path | None, status: str, storage: str, json_out: bool,
                  seconds: float | None = None) -> None:
    """The closing leaderboard: a table and the best settings on stdout, or one JSON object."""
    best = snap.best
    if json_out:
        obj: dict[str, Any] = {
            "event": "sweep_finished", "study": snap.study, "storage": storage, "status": status,
            "trials": snap.target, "done": snap.done, "counts": snap.counts, "seconds": seconds,
            "best": best.to_dict() if best else None, "best_preset": str(preset) if preset else None,
            "leaderboard": [row.to_dict() for row in snap.rows]}
        print(json.dumps(obj), flush=True)
        return
    out = Console(highlight=False, soft_wrap=False)
    out.print(leaderboard_table(snap))
    if best is None:
        out.print("No trial has completed yet, so there are no best settings.", markup=False)
    else:
        out.print(f"best: trial {best.number}, {fmt.percent(best.value)} validation accuracy: {best.settings()}",
                  markup=False)
    if preset is not None:
        out.print(f"best settings written to {preset}; train with them: fmtui train --preset {preset}", markup=False)
    took = f" in {fmt.duration(seconds)}" if seconds is not None else ""
    out.print(f"{status}{took}; study {snap.study} in {storage}", markup=False)
