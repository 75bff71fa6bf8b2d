"""Checkpoints: best.pt (the best weights by the `select` setting, with their config), as written and as
read back and checked. torch is imported only where a checkpoint is read, so listing runs need not wait
for it.

A checkpoint of a model defined outside fmtui also records where that model came from: the file's
absolute path and the sha256 of the bytes that built it (``model_source``), so `fmtui eval` can say when
the file has moved or changed since (``source_problem``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fmtui.core.config.settings import TrainConfig
from fmtui.core.errors import ConfigError, RecordError
from fmtui.core.models import _user
from fmtui.core.records import schema
from fmtui.core.records.files import torch_load
from fmtui.core.records.run_dir import FORMAT_VERSION, RunRecord

if TYPE_CHECKING:
    import torch

CHECKPOINT_FORMAT = "fmtui-checkpoint"


def make_checkpoint(config: TrainConfig, state_dict: dict[str, torch.Tensor], epoch: int,
                    val_loss: float, val_accuracy: float) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "version": FORMAT_VERSION, "config": config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in state_dict.items()},
            "epoch": epoch, "val_loss": val_loss, "val_accuracy": val_accuracy,
            "model_source": _user.model_source(config.model)}


@dataclass(frozen=True)
class ModelSource:
    """The file a user model was built from, when its checkpoint was written."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    config: TrainConfig
    state_dict: dict[str, torch.Tensor]
    epoch: int
    source: ModelSource | None = None  # None for fmtui's own models (and checkpoints from before sources)


CHECKPOINT_HINT = "Each run directory holds its best.pt; `fmtui runs` lists the runs."


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a ``best.pt`` (or a run directory holding one), checking that it is fmtui's."""
    path = Path(path)
    if path.is_dir():
        path = RunRecord(path).best_path
    raw = torch_load(path, "checkpoint", CHECKPOINT_HINT)
    if raw.get("format") != CHECKPOINT_FORMAT or not isinstance(raw.get("model"), dict):
        raise RecordError(f"{path} is not an fmtui checkpoint. {CHECKPOINT_HINT}")
    if raw.get("version") != FORMAT_VERSION:
        raise RecordError(f"{path} was written by an incompatible fmtui (checkpoint version "
                          f"{raw.get('version')!r:.20}, this fmtui reads {FORMAT_VERSION}).")
    schema.check_fields(raw, {"epoch": schema.EPOCH}, str(path))
    schema.check_tensors(raw["model"], str(path))
    if not isinstance(raw.get("config"), dict):
        raise RecordError(f"{path} is unreadable: its config is not the object fmtui writes.")
    try:
        config = TrainConfig.from_dict(raw["config"], f"{path} (config)")
    except ConfigError as exc:
        raise RecordError(f"{exc} The checkpoint does not match this fmtui.") from None
    return Checkpoint(path, config, raw["model"], raw["epoch"], _read_source(raw.get("model_source"), path))


def _read_source(raw: Any, path: Path) -> ModelSource | None:
    if raw is None:
        return None
    if (not isinstance(raw, dict) or not isinstance(raw.get("path"), str) or not isinstance(raw.get("sha256"), str)
            or not raw["path"]):
        raise RecordError(f"{path} is unreadable: its model_source is not the object fmtui writes.")
    return ModelSource(Path(raw["path"]), raw["sha256"])


def checked_source(checkpoint: Checkpoint) -> str | None:
    """RecordError when the file that built the checkpoint's model has moved or gone (its weights cannot be
    used); otherwise what a person should be warned of (the file changed since), or None."""
    problem = source_problem(checkpoint)
    if problem and checkpoint.source is not None and not checkpoint.source.path.is_file():
        raise RecordError(problem)
    return problem


def source_problem(checkpoint: Checkpoint) -> str | None:
    """What has become of the file that built the checkpoint's model, in plain words; None when it is as it
    was (or the model is fmtui's own)."""
    source = checkpoint.source
    if source is None:
        return None
    if not source.path.is_file():
        return (f"the model file {source.path} that built {checkpoint.path} has moved or been deleted; put it "
                f"back there (or a copy of it) to use these weights.")
    try:
        now = _user.file_hash(source.path)
    except OSError as exc:
        return f"the model file {source.path} cannot be read: {exc.strerror or exc}."
    if now != source.sha256:
        return (f"the model file {source.path} has changed since it built {checkpoint.path} (sha256 "
                f"{source.sha256[:12]} then, {now[:12]} now); the results are for the model as it is now.")
    return None
