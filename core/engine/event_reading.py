"""Events read back from JSON (an event log, another process): untrusted, so every field is checked
against its annotation, and what does not fit is refused (None) rather than half-used.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from fmtui.core.engine.events import Evaluated, Event, RunStarted


def event_kinds() -> dict[str, type[Event]]:
    """Every event class by its ``kind()``, subclasses of subclasses included."""
    found: dict[str, type[Event]] = {}
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.kind()] = cls
        pending.extend(cls.__subclasses__())
    return found


def event_from_dict(data: Any) -> Event | None:
    """The inverse of ``Event.to_dict``, for events read back from a file (fmtui.core.live): None for an
    unknown kind or a dict that does not fit its class. Unknown fields are ignored and missing ones
    with defaults filled, so a log written by a slightly newer or older fmtui still reads.

    A file is untrusted input: every field must be of its declared type (``"loss": "a"`` is refused, not
    handed to a view that does arithmetic with it), counts are whole numbers of at least 0, and an
    event whose parts must agree (a confusion matrix and its class names) is refused when they do not.
    Events for this process only (``local``: the images) are never read back."""
    if not isinstance(data, dict):
        return None
    kind = data.get("event")
    cls = event_kinds().get(kind) if isinstance(kind, str) else None
    if cls is None or cls.local:
        return None
    hints = _field_types(cls)
    nan_when_null = _NAN_WHEN_NULL.get(cls.kind(), ())
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if value is None and f.name in nan_when_null:
            value = math.nan  # to_dict wrote a non-finite float as null
        else:
            value = _fitted(value, hints[f.name])
            if value is _MISFIT:
                return None
        values[f.name] = value
    try:
        event = cls(**values)
    except TypeError:  # a required field is missing
        return None
    check = _AGREEMENT.get(cls.kind())
    return event if check is None or check(event) else None


# Float fields to_dict may have written as null (a diverged loss); None is not a float the views expect.
_NAN_WHEN_NULL = {"batch_ended": ("loss",), "epoch_ended": ("train_loss", "val_loss"), "diverged": ("loss",),
                  "evaluated": ("loss",)}
_MISFIT = object()
MAX_COUNT = 2**53  # epochs, batches, images, parameters: far below this; JSON's exact integers end here
_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(cls: type[Event]) -> dict[str, Any]:
    if cls not in _TYPES:
        _TYPES[cls] = typing.get_type_hints(cls)  # the annotations are strings (postponed evaluation)
    return _TYPES[cls]


def _fitted(value: Any, kind: Any) -> Any:
    """``value`` (as JSON gave it) as a value of the annotation ``kind``, or _MISFIT."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return value
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None if type(None) in args else _MISFIT
        (inner,) = [a for a in args if a is not type(None)]
        return _fitted(value, inner)
    if kind is bool:
        return value if isinstance(value, bool) else _MISFIT
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
        return value if ok else _MISFIT
    if kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return _MISFIT
        try:
            return float(value)
        except OverflowError:  # a whole number of hundreds of digits
            return _MISFIT
    if kind is str:
        return value if isinstance(value, str) else _MISFIT
    if origin is tuple:  # tuple[X, ...]: JSON has lists only; events hold tuples (frozen, hashable)
        if not isinstance(value, list):
            return _MISFIT
        items = tuple(_fitted(v, args[0]) for v in value)
        return _MISFIT if any(v is _MISFIT for v in items) else items
    if origin is dict:  # dict[str, Any]: a configuration, as the run wrote it
        return value if isinstance(value, dict) and all(isinstance(k, str) for k in value) else _MISFIT
    if origin is typing.Literal:
        return value if any(value == a and type(value) is type(a) for a in args) else _MISFIT
    if isinstance(kind, type) and issubclass(kind, enum.Enum):  # a closed set, such as a run's status
        try:
            return kind(value)
        except (ValueError, TypeError):
            return _MISFIT
    return _MISFIT  # a type this reader does not know how to check: refuse rather than guess


def _evaluated_agrees(event: Evaluated) -> bool:
    n = len(event.class_names)
    return (event.split in ("validation", "test") and n > 0
            and len(event.confusion) == n and all(len(row) == n for row in event.confusion)
            and len(event.precision) == n and len(event.recall) == n and len(event.f1) in (0, n)
            and len(event.predictions) == len(event.confidences) and all(p < n for p in event.predictions))


def _run_started_agrees(event: RunStarted) -> bool:
    trial = event.config.get("trial", -1)  # the views name a sweep's trial by it
    return event.first_epoch >= 1 and isinstance(trial, int) and not isinstance(trial, bool)


# Events whose fields must agree with one another, beyond each being of its type.
_AGREEMENT: dict[str, Callable[[Any], bool]] = {"evaluated": _evaluated_agrees, "run_started": _run_started_agrees}
