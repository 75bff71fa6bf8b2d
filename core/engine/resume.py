"""Continuing a run: the training state saved after every epoch (last.pt), and the checks a resume
makes before it trusts that state.

A resume reproduces the uninterrupted run exactly, so the state holds everything the run's future
depends on: weights, optimiser, schedule, random generators and the progress so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.errors import RecordError
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import lock_holder
from fmtui.core.records.run_dir import FORMAT_VERSION, STATE_FORMAT, RunRecord

RESUMABLE = ("interrupted", "stopped", "failed", "killed")


@dataclass
class Progress:
    """What the run has achieved so far; saved with the training state."""

    epoch: int = 0  # last complete epoch
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    best_val_accuracy: float | None = None
    bad_epochs: int = 0
    elapsed: float = 0.0
    history: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.history = self.history or []


def snapshot(config: TrainConfig, model: nn.Module, ema: nn.Module | None, optimizer: Any, scheduler: Any,
             generator: torch.Generator, device: torch.device, progress: Progress) -> dict[str, Any]:
    """Everything needed to continue after this epoch as if the run had never stopped."""
    return {
        "format": STATE_FORMAT, "version": FORMAT_VERSION, "config": config.to_dict(),
        "model": model.state_dict(), "ema": ema.state_dict() if ema is not None else None,
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "progress": {k: v for k, v in vars(progress).items()},
    }


def check_matches(state: dict[str, Any], config: TrainConfig, record: RunRecord) -> None:
    """The state was trained with the configuration the resume would continue with (only the device
    may differ): config.json edited since would otherwise load weights into another model, or quietly
    continue a different run."""
    saved, wanted = dict(state["config"]), config.to_dict()
    saved.pop("device", None)
    wanted.pop("device")
    changed = [key for key in sorted(set(saved) | set(wanted)) if saved.get(key) != wanted.get(key)]
    if changed:
        key = changed[0]
        raise RecordError(f"{record.config_path} no longer matches the configuration {record.state_path.name} "
                          f"was trained with ({key}: {saved.get(key)!r} there, {wanted.get(key)!r} here"
                          f"{f', and {len(changed) - 1} more' if len(changed) > 1 else ''}). Put config.json "
                          f"back as it was, or start a new run.")


def restore(state: dict[str, Any], model: nn.Module, ema: nn.Module | None, optimizer: Any, scheduler: Any,
            generator: torch.Generator, device: torch.device, progress: Progress, record: RunRecord) -> None:
    try:
        model.load_state_dict(state["model"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # what load_state_dict and set_state raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecordError(f"{record.state_path} cannot be resumed from: it does not fit the run its config "
                          f"describes ({first[:200]}). Start a new run instead.") from exc
    for key, value in state["progress"].items():
        setattr(progress, key, value)


def finished_training(progress: Progress, config: TrainConfig) -> bool:
    """Whether a resumed run had already trained all it would: every epoch, or stopped early (the
    state is saved before that decision, which depends on nothing else). It continues with the test."""
    return progress.epoch >= config.epochs or bool(config.patience and progress.bad_epochs >= config.patience)


def resume_config(record: RunRecord, device: str | None = None) -> TrainConfig:
    """The configuration to continue a run with; only the device may change."""
    summary = record.read_summary()
    status = effective_status(summary, record.path)
    if status == "running":
        raise RecordError(f"{record.path} is being trained by another fmtui process{lock_holder(record.path)}; "
                          f"stop that process first.")
    if status not in RESUMABLE and not status.startswith("running on "):
        raise RecordError(f"{record.path} has status '{status}'; only interrupted, stopped or failed runs "
                          f"can be resumed.")
    if not record.state_path.exists():
        raise RecordError(f"{record.path} has no complete epoch to resume from ({record.state_path.name} is "
                          f"missing); start a new run instead.")
    return with_overrides(record.read_config(), {"device": device})  # --device is checked like any flag


def summary_fields(progress: Progress) -> dict[str, Any]:
    """What summary.json says of the run's progress."""
    return {"epochs": progress.epoch, "best_epoch": progress.best_epoch or None,
            "best_val_loss": progress.best_val_loss if progress.best_epoch else None,
            "best_val_accuracy": progress.best_val_accuracy}
