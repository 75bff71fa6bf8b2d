"""What a sweep searches: ``--param`` ranges and choices over TrainConfig settings, checked before any trial.

    lr=log:1e-4:1e-2        a number drawn on a log scale
    dropout=0.1:0.5         a number drawn uniformly (LOW:HIGH:STEP for a grid of steps)
    batch_size=64:256:64    a whole-number setting is drawn as a whole number ("int:" may say so)
    model=tinyvgg,resnet    one of a list (values read as in --set: numbers, true/false, else text)
    width=int:32:96         the first stage's channels, doubling per stage (widths = w, 2w, 4w, ...)

Every endpoint and choice is checked as the setting itself would be (``fmtui.core.config``), so a sweep
never starts a trial its first setting would reject. Optuna is not imported here: a Param suggests
through whatever trial object it is given, and the checks run before any storage is opened.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, fields, replace
from typing import Any

from fmtui.core.config.settings import TrainConfig, parse_assignment, with_overrides
from fmtui.core.errors import ConfigError

# Settings a sweep may not vary: names and records (set by the sweep itself), and the device (a
# worker's own business: the same study may run on a CPU here and a GPU there).
NOT_SEARCHABLE = {"preset": "it names the records", "description": "it is text for people",
                  "study": "the sweep sets it", "trial": "the sweep sets it",
                  "device": "each worker picks its own with --device"}
# A scalar stand-in for the ``widths`` list, which a range cannot describe.
WIDTH = "width"
_PREFIXES = ("log", "int")


@dataclass(frozen=True)
class Param:
    """One searched setting: a range (``low``..``high``, maybe on a log scale or in steps) or choices."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def spec(self) -> str:
        """The canonical ``--param`` text: what a study records and compares across workers."""
        if self.choices:
            return f"{self.name}=" + ",".join(_show(c) for c in self.choices)
        kind = ("int:" if self.integer else "") + ("log:" if self.log else "")
        step = f":{_show(self.step)}" if self.step is not None else ""
        return f"{self.name}={kind}{_show(self.low)}:{_show(self.high)}{step}"

    def suggest(self, trial: Any) -> Any:
        """Draw a value through Optuna's own ``trial.suggest_*`` (the sampler decides which)."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parse_params(texts: list[str], base: TrainConfig) -> tuple[Param, ...]:
    """Parse and check every ``--param``; the error names the flag and what to write instead."""
    params: list[Param] = []
    for text in texts:
        param = parse_param(text, base)
        if any(p.name == param.name for p in params):
            raise ConfigError(f"--param {param.name}: given twice; give each setting one range or list.")
        params.append(param)
    if not params:
        raise ConfigError("--param is required: name at least one setting to search, for example "
                          "--param lr=log:1e-4:1e-2 --param dropout=0.1:0.5.")
    return tuple(params)


def parse_param(text: str, base: TrainConfig) -> Param:
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ConfigError(f"--param {text!r}: expected NAME=LOW:HIGH, NAME=log:LOW:HIGH or NAME=A,B, "
                          f"for example --param lr=log:1e-4:1e-2.")
    kind = _kind(name, base)
    label = f"--param {text}"
    if "," in spec:
        if spec.split(":")[0] in _PREFIXES:
            raise ConfigError(f"{label}: a list of choices takes no {spec.split(':')[0]}: prefix.")
        choices = tuple(parse_assignment(f"{name}={raw}")[1] for raw in spec.split(","))
        if len(set(map(repr, choices))) < len(choices):
            raise ConfigError(f"{label}: a choice is listed twice.")
        param = Param(name, choices=choices)
    else:
        param = _parse_range(label, name, spec, kind)
    for value in (param.choices or (param.low, param.high)):
        apply(base, {name: value}, label=f"--param {name}")  # the setting's own check, naming the flag
    return param


def _kind(name: str, base: TrainConfig) -> type:
    if name == WIDTH:
        return int
    if name in NOT_SEARCHABLE:
        raise ConfigError(f"--param {name}: cannot be searched ({NOT_SEARCHABLE[name]}).")
    kinds = typing.get_type_hints(TrainConfig)
    if name not in kinds:
        # The setting's own "unknown setting (did you mean ...?)" message, under this flag's name.
        with_overrides(base, {name: 0}, label=lambda k: f"--param {k}")
    kind = kinds[name]
    if kind not in (int, float, bool, str):
        raise ConfigError(f"--param {name}: a list setting cannot be searched as a range; search {WIDTH} "
                          f"(the first stage's channels, doubling per stage) or fix it with --set.")
    return kind


def _parse_range(label: str, name: str, spec: str, kind: type) -> Param:
    parts = spec.split(":")
    flags = set()
    while parts and parts[0] in _PREFIXES:
        flags.add(parts.pop(0))
    if kind in (bool, str):
        raise ConfigError(f"{label}: {name} is not a number; list its choices instead, such as "
                          f"{name}={'true,false' if kind is bool else 'a,b'}.")
    if len(parts) not in (2, 3):
        raise ConfigError(f"{label}: expected LOW:HIGH (optionally log: or int: before it, :STEP after it) or "
                          f"a list A,B,C; a single value belongs in --set.")
    if "int" in flags and kind is not int:
        raise ConfigError(f"{label}: int: is for whole-number settings, and {name} is a number; leave it out.")
    integer = kind is int
    numbers = [_number(label, raw, integer) for raw in parts]
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else None
    if not low < high:
        raise ConfigError(f"{label}: the low end ({_show(low)}) must be below the high end ({_show(high)}).")
    if "log" in flags and low <= 0:
        raise ConfigError(f"{label}: a log range needs a low end above 0 (the logarithm of {_show(low)} "
                          f"does not exist).")
    if step is not None and (step <= 0 or "log" in flags):
        raise ConfigError(f"{label}: a step must be above 0, and cannot be combined with log:.")
    return Param(name, low, high, log="log" in flags, step=step, integer=integer)


def _number(label: str, raw: str, integer: bool) -> int | float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{label}: {raw!r} is not a number.") from None
    if not math.isfinite(value):
        raise ConfigError(f"{label}: {raw!r} is not a finite number.")
    if integer:
        if value != int(value):
            raise ConfigError(f"{label}: {raw!r} is not a whole number, and this setting takes whole numbers.")
        return int(value)
    return value


def apply(base: TrainConfig, values: dict[str, Any], label: str | None = None) -> TrainConfig:
    """``base`` with sampled values applied (``width`` becomes ``widths``), checked like any setting;
    errors name ``label``, or ``--param NAME``."""
    values = dict(values)
    if WIDTH in values:
        width = values.pop(WIDTH)
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise ConfigError(f"{label or '--param width'} = {width!r}: the first stage's width must be a whole "
                              f"number of at least 1.")
        values["widths"] = tuple(width * 2 ** i for i in range(len(base.widths)))
    return with_overrides(base, values, label=lambda k: label or f"--param {WIDTH if k == 'widths' else k}")


def config_diff(config: TrainConfig, reference: TrainConfig) -> dict[str, Any]:
    """The settings of ``config`` that differ from ``reference`` (records and names left out)."""
    return {f.name: getattr(config, f.name) for f in fields(TrainConfig)
            if f.name not in NOT_SEARCHABLE and getattr(config, f.name) != getattr(reference, f.name)}


def preset_text(config: TrainConfig, description: str, *, comment: str = "") -> str:
    """A preset file holding ``config``'s settings that differ from the defaults (device left out,
    so the file trains anywhere); ``fmtui train --preset FILE`` reads it back to the same config."""
    lines = [f"# {line}\n" for line in comment.splitlines()]
    lines.append(f"description = {_toml(description)}\n\n")
    for key, value in config_diff(replace(config, device=TrainConfig().device), TrainConfig()).items():
        lines.append(f"{key} = {_toml(value)}\n")
    return "".join(lines)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # Python's repr of a float (1e-05, 0.003, inf) is valid TOML
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    import json

    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


@dataclass(frozen=True)
class Plan:
    """What one `fmtui sweep` command asks for; every worker of a study should give the same."""

    study: str
    base: TrainConfig  # the preset with --set applied; --device is the worker's own (``device``)
    params: tuple[Param, ...]
    trials: int  # trials to finish (complete or pruned) across all workers
    device: str | None = None
    pruner: str = "median"
    timeout: float | None = None  # seconds after which this worker starts no new trial
