"""The shape of what fmtui reads back: a run's metrics rows, its training state, a checkpoint; the kinds
of value a field may hold (fmtui.core.records.summary checks the summary with them).

A record file can parse and still be wrong: edited by hand, written by something else, damaged into
valid JSON. Everything that reads a record goes through these checks, so a wrong shape is reported
once, as a RecordError naming the file and the field, and never surfaces later as a TypeError in
whatever happened to use the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fmtui.core.errors import RecordError
from fmtui.core.records.status import RECORDED


class Kind:
    """A JSON value kind: a name for messages and a test."""

    def __init__(self, name: str, test: Any) -> None:
        self.name, self.test = name, test


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_tensor(v: Any) -> bool:
    import torch  # only a training state holds tensors, and reading one has imported torch already

    return isinstance(v, torch.Tensor)


TEXT = Kind("a string", lambda v: isinstance(v, str))
COUNT = Kind("a whole number of at least 0", lambda v: _is_int(v) and v >= 0)
EPOCH = Kind("a whole number of at least 1", lambda v: _is_int(v) and v >= 1)
NUMBER = Kind("a number", _is_number)
STATUS = Kind(f"one of {', '.join(RECORDED)}", lambda v: isinstance(v, str) and v in RECORDED)
TENSOR = Kind("a tensor", _is_tensor)


def or_null(kind: Kind) -> Kind:
    return Kind(f"{kind.name} or null", lambda v: v is None or kind.test(v))


HISTORY_FIELDS: dict[str, Kind] = {
    "epoch": EPOCH, "train_loss": NUMBER, "train_accuracy": NUMBER, "val_loss": NUMBER, "val_accuracy": NUMBER,
    "lr": NUMBER, "seconds": NUMBER, "images_per_second": NUMBER,
}

# The trainer's own progress; each of its parts (fmtui.core.engine.parts) checks its state itself.
PROGRESS_FIELDS: dict[str, Kind] = {
    "epoch": COUNT, "elapsed": NUMBER, "history": Kind("a list", lambda v: isinstance(v, list)),
}


def _describe(value: Any) -> str:
    names = {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def check_fields(obj: Any, fields: Mapping[str, Kind], where: str) -> dict[str, Any]:
    """``obj`` as a dict holding every field of ``fields`` with a value of its kind; extra keys are kept."""
    if not isinstance(obj, dict):
        raise RecordError(f"{where} is unreadable: it holds {_describe(obj)}, not the object fmtui writes.")
    for name, kind in fields.items():
        if name not in obj:
            raise RecordError(f"{where} is unreadable: it lacks the field '{name}'.")
        if not kind.test(obj[name]):
            raise RecordError(f"{where} is unreadable: '{name}' is {_describe(obj[name])} ({obj[name]!r:.40}), "
                              f"expected {kind.name}.")
    return obj


def check_history(rows: list[Any], path: Any) -> list[dict[str, Any]]:
    checked = [check_fields(row, HISTORY_FIELDS, f"{path} (line {i})") for i, row in enumerate(rows, 1)]
    epochs = [row["epoch"] for row in checked]
    if epochs != list(range(1, len(epochs) + 1)):
        raise RecordError(f"{path} is unreadable: its rows are not epochs 1, 2, 3, ... in order.")
    return checked


def check_tensors(obj: Any, where: str) -> dict[str, Any]:
    """A state dict: names to tensors."""
    import torch

    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                            for k, v in obj.items()):
        raise RecordError(f"{where} is unreadable: its weights are not a mapping of names to tensors.")
    return obj


def check_state(obj: dict[str, Any], path: Any) -> dict[str, Any]:
    """A training state (last.pt), down to what resuming reads from it but its parts' own states."""
    import torch

    where = str(path)
    for key, kind in (("config", dict), ("optimizer", dict), ("scheduler", dict), ("progress", dict),
                      ("parts", dict), ("generator", torch.Tensor), ("torch_rng", torch.Tensor)):
        if not isinstance(obj.get(key), kind):
            raise RecordError(f"{where} is unreadable: its '{key}' is {_describe(obj.get(key))}, not what fmtui "
                              f"writes there.")
    check_tensors(obj.get("model"), where)
    check_fields(obj["progress"], PROGRESS_FIELDS, f"{where} (progress)")
    check_history(obj["progress"]["history"], f"{where} (progress history)")
    return obj


# last.pt as fmtui wrote it before each part of the trainer kept its own state (version 1).
_PROGRESS_V1: dict[str, Kind] = {
    **PROGRESS_FIELDS, "best_epoch": COUNT, "best_val_loss": NUMBER, "best_val_accuracy": or_null(NUMBER),
    "bad_epochs": COUNT,
}


def upgrade_state(obj: dict[str, Any], path: Any) -> dict[str, Any]:
    """A version 1 training state in today's shape: its progress split among the parts that now keep it."""
    progress = dict(check_fields(obj.get("progress"), _PROGRESS_V1, f"{path} (progress)"))
    parts: dict[str, Any] = {
        "best_checkpoint": {"epoch": progress.pop("best_epoch"), "val_loss": progress.pop("best_val_loss"),
                            "val_accuracy": progress.pop("best_val_accuracy")},
        "early_stopping": {"bad_epochs": progress.pop("bad_epochs")},
        "backbone_freeze": {},
    }
    if obj.get("ema") is not None:
        parts["weight_average"] = obj["ema"]
    return {**{k: v for k, v in obj.items() if k != "ema"}, "version": 2, "progress": progress, "parts": parts}
