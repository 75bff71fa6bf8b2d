"""The shape of what fmtui reads back: a run's summary and metrics rows, its training state, a checkpoint.

A record file can parse and still be wrong: edited by hand, written by something else, damaged into
valid JSON. Everything that reads a record goes through these checks, so a wrong shape is reported
once, as a RecordError naming the file and the field, and never surfaces later as a TypeError in
whatever happened to use the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fmtui.core.errors import RecordError

STATUSES = ("running", "finished", "stopped", "pruned", "interrupted", "diverged", "failed")


class _Kind:
    """A JSON value kind: a name for messages and a test."""

    def __init__(self, name: str, test: Any) -> None:
        self.name, self.test = name, test


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


TEXT = _Kind("a string", lambda v: isinstance(v, str))
COUNT = _Kind("a whole number of at least 0", lambda v: _is_int(v) and v >= 0)
EPOCH = _Kind("a whole number of at least 1", lambda v: _is_int(v) and v >= 1)
NUMBER = _Kind("a number", _is_number)
STATUS = _Kind(f"one of {', '.join(STATUSES)}", lambda v: v in STATUSES)


def _or_null(kind: _Kind) -> _Kind:
    return _Kind(f"{kind.name} or null", lambda v: v is None or kind.test(v))


SUMMARY_FIELDS: dict[str, _Kind] = {
    "run_id": TEXT, "preset": TEXT, "model": TEXT, "status": STATUS, "epochs": COUNT, "epochs_planned": EPOCH,
    "best_epoch": _or_null(EPOCH), "best_val_accuracy": _or_null(NUMBER), "best_val_loss": _or_null(NUMBER),
    "test_accuracy": _or_null(NUMBER), "test_loss": _or_null(NUMBER), "started_at": TEXT,
    "ended_at": _or_null(TEXT), "duration_seconds": NUMBER, "device": TEXT, "parameters": COUNT, "seed": COUNT,
    "pid": COUNT, "host": TEXT, "error": _or_null(TEXT),
}

HISTORY_FIELDS: dict[str, _Kind] = {
    "epoch": EPOCH, "train_loss": NUMBER, "train_accuracy": NUMBER, "val_loss": NUMBER, "val_accuracy": NUMBER,
    "lr": NUMBER, "seconds": NUMBER, "images_per_second": NUMBER,
}

PROGRESS_FIELDS: dict[str, _Kind] = {
    "epoch": COUNT, "best_epoch": COUNT, "best_val_loss": NUMBER, "best_val_accuracy": _or_null(NUMBER),
    "bad_epochs": COUNT, "elapsed": NUMBER, "history": _Kind("a list", lambda v: isinstance(v, list)),
}


def _describe(value: Any) -> str:
    names = {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def check_fields(obj: Any, fields: Mapping[str, _Kind], where: str) -> dict[str, Any]:
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


def check_summary(obj: Any, path: Any) -> dict[str, Any]:
    return check_fields(obj, SUMMARY_FIELDS, str(path))


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
    """A training state (last.pt), down to what resuming reads from it."""
    import torch

    where = str(path)
    for key, kind in (("config", dict), ("optimizer", dict), ("scheduler", dict), ("progress", dict),
                      ("generator", torch.Tensor), ("torch_rng", torch.Tensor)):
        if not isinstance(obj.get(key), kind):
            raise RecordError(f"{where} is unreadable: its '{key}' is {_describe(obj.get(key))}, not what fmtui "
                              f"writes there.")
    check_tensors(obj.get("model"), where)
    if obj.get("ema") is not None:
        check_tensors(obj["ema"], f"{where} (ema)")
    check_fields(obj["progress"], PROGRESS_FIELDS, f"{where} (progress)")
    check_history(obj["progress"]["history"], f"{where} (progress history)")
    return obj
