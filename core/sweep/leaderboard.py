"""A sweep's leaderboard, read from its Optuna study, and the best trial's settings as a preset file.

Everything here comes from the study's storage (trial states, parameters, and the user attributes a
worker records as its trial trains), so a watcher on another machine sees what the workers see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from fmtui.core.records.files import atomic_write_text
from fmtui.core.sweep.space import apply, preset_text

if TYPE_CHECKING:
    from fmtui.core.sweep.space import Plan

TARGET_ATTR = "fmtui_trials"  # the study attribute holding --trials, for --watch
STATE_NAMES = {TrialState.RUNNING: "running", TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
               TrialState.FAIL: "failed", TrialState.WAITING: "waiting"}


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str  # running, complete, pruned, failed or waiting
    params: dict[str, Any]
    value: float | None  # the run's validation accuracy at its best epoch so far
    epochs: int
    status: str = ""  # the run record's status: finished, pruned, diverged, interrupted, ...
    run_dir: str | None = None
    seconds: float | None = None
    error: str = ""

    def settings(self) -> str:
        return " ".join(f"{k}={_short(v)}" for k, v in self.params.items())

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.number, "state": self.state, "value": self.value, "params": self.params,
                "epochs": self.epochs, "status": self.status, "run_dir": self.run_dir, "seconds": self.seconds,
                "error": self.error}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Snapshot:
    """A study as the leaderboard shows it, read in one go from the storage."""

    study: str
    target: int | None
    rows: tuple[TrialRow, ...]  # best first: complete by value, then running, pruned, failed
    best_curve: tuple[tuple[int, float], ...] = ()  # (trial number, best value of complete trials so far)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def best(self) -> TrialRow | None:
        return next((r for r in self.rows if r.state == "complete" and r.value is not None), None)

    @property
    def done(self) -> int:
        return self.counts.get("complete", 0) + self.counts.get("pruned", 0)


_RANK = {"complete": 0, "running": 1, "waiting": 2, "pruned": 3, "failed": 4}


def snapshot(study: optuna.Study) -> Snapshot:
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    rows = [row_of(t) for t in trials]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    curve, best = [], None
    for t in sorted((t for t in trials if t.state == TrialState.COMPLETE and t.value is not None),
                    key=lambda t: t.number):
        best = t.value if best is None else max(best, t.value)
        curve.append((t.number, best))
    rows.sort(key=lambda r: (_RANK.get(r.state, 5), -(r.value if r.value is not None else -1), r.number))
    target = study.user_attrs.get(TARGET_ATTR)
    return Snapshot(study.study_name, target if isinstance(target, int) else None, tuple(rows), tuple(curve), counts)


def row_of(t: optuna.trial.FrozenTrial) -> TrialRow:
    attrs = t.user_attrs
    value = t.value if t.state == TrialState.COMPLETE else attrs.get("best_val_accuracy")
    if value is None and t.intermediate_values:  # a study some other tool wrote to
        value = max(t.intermediate_values.values())
    return TrialRow(t.number, STATE_NAMES.get(t.state, t.state.name.lower()), dict(t.params), value,
                    int(attrs.get("epochs", len(t.intermediate_values))), attrs.get("status", ""),
                    attrs.get("run_dir"), attrs.get("seconds"), attrs.get("error", ""))


def best_preset_path(runs_dir: Path, study: str) -> Path:
    return Path(runs_dir) / f"{study}-best.toml"


def write_best_preset(plan: Plan, best: TrialRow, runs_dir: Path) -> Path:
    """The best trial's settings as a preset file `fmtui train --preset FILE` accepts."""
    config = apply(plan.base, best.params)
    text = preset_text(
        config, f"Best of sweep {plan.study}: trial {best.number}, {best.value * 100:.2f}% validation accuracy "
                f"(from preset {plan.base.preset})",
        comment=f"Written by `fmtui sweep` from study {plan.study}, trial {best.number}: {best.settings()}.\n"
                f"Epochs and data are as the sweep ran them; change --epochs or train_subset for a full run.")
    path = best_preset_path(runs_dir, plan.study)
    atomic_write_text(path, text)
    return path
