"""Continuing a run: the training state saved after every epoch (last.pt), and the checks a resume
makes before it trusts that state.

A resume reproduces the uninterrupted run exactly, so the state holds everything the run's future
depends on: weights, optimiser, schedule, random generators, the progress so far, and each of the
trainer's parts' own state (fmtui.core.engine.parts).
"""

from __future__ import annotations

from typing import Any

import torch

from fmtui.core.config.settings import TrainConfig, with_overrides
from fmtui.core.engine.session import Session
from fmtui.core.errors import RecordError
from fmtui.core.records.listing import effective_status
from fmtui.core.records.lock import lock_holder
from fmtui.core.records.run_dir import STATE_FORMAT, STATE_VERSION, RunRecord
from fmtui.core.records.status import RunStatus


def snapshot(session: Session) -> dict[str, Any]:
    """Everything needed to continue after this epoch as if the run had never stopped."""
    device, progress = session.device, session.progress
    return {
        "format": STATE_FORMAT, "version": STATE_VERSION, "config": session.config.to_dict(),
        "model": session.model.state_dict(), "optimizer": session.optimizer.state_dict(),
        "scheduler": session.scheduler.state_dict(), "generator": session.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "progress": {"epoch": progress.epoch, "elapsed": progress.elapsed, "history": progress.history},
        "parts": session.parts.state_dict(),
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


def restore(state: dict[str, Any], session: Session, record: RunRecord) -> None:
    """Put ``session`` (as ``prepare`` built it) where the run was when ``state`` was saved."""
    try:
        session.model.load_state_dict(state["model"])
        session.optimizer.load_state_dict(state["optimizer"])
        session.scheduler.load_state_dict(state["scheduler"])
        session.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if session.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], session.device)
        session.parts.load_state_dict(state["parts"], str(record.state_path))
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:  # what load_state_dict and set_state raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecordError(f"{record.state_path} cannot be resumed from: it does not fit the run its config "
                          f"describes ({first[:200]}). Start a new run instead.") from exc
    progress = state["progress"]
    session.progress.epoch, session.progress.elapsed = progress["epoch"], progress["elapsed"]
    session.progress.history = progress["history"]


def resume_config(record: RunRecord, device: str | None = None) -> TrainConfig:
    """The configuration to continue a run with; only the device may change."""
    summary = record.read_summary()
    status = effective_status(summary, record.path)
    if status == RunStatus.RUNNING:
        raise RecordError(f"{record.path} is being trained by another fmtui process{lock_holder(record.path)}; "
                          f"stop that process first.")
    # A record of another machine ("running on HOST") may be resumed here: its process is not ours to see.
    if isinstance(status, RunStatus) and not status.resumable:
        raise RecordError(f"{record.path} has status '{status}'; only interrupted, stopped or failed runs "
                          f"can be resumed.")
    if not record.state_path.exists():
        raise RecordError(f"{record.path} has no complete epoch to resume from ({record.state_path.name} is "
                          f"missing); start a new run instead.")
    return with_overrides(record.read_config(), {"device": device})  # --device is checked like any flag
