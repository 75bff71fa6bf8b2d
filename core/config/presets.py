"""Preset files: the shipped ones (package data, read with importlib.resources) and any .toml a person
names, read into a checked TrainConfig with the facts measured with them (``[measured]``).
"""


from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from fmtui.core.config.settings import TrainConfig, config_from, with_overrides
from fmtui.core.errors import ConfigError


def presets_dir() -> Path:
    """Where the shipped preset files live: the package data of fmtui.presets (presets/ in a source tree)."""
    return Path(os.fspath(resources.files("fmtui.presets")))


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def preset_path(name: str) -> Path:
    """The file for a preset name, or the path itself when given a .toml file."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"preset file {path} does not exist.")
        return path
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        names = preset_names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown preset '{name}'.{hint} Available presets: {', '.join(names) or 'none'} "
                          f"(in {presets_dir()}); `fmtui presets` describes them.")
    return path


# What a preset file may hold besides settings: facts measured with it, shown in the menu and
# `fmtui presets` (parameters is checked against the built model by the tests).
MEASURED_KEYS = {"parameters": int, "cpu": str, "gpu": str}


@dataclass(frozen=True)
class PresetInfo:
    """A preset file as the menu and `fmtui presets` list it; ``config`` is None when the file is unusable."""

    name: str
    config: TrainConfig | None
    measured: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


def read_preset(name: str) -> PresetInfo:
    """Read a preset by name (or .toml path): its validated config and its [measured] table."""
    path = preset_path(name)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the file or pick another preset.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None
    measured = values.pop("measured", {})
    if not isinstance(measured, dict):
        raise ConfigError(f"{path}: measured: must be a table ([measured]) of {', '.join(MEASURED_KEYS)}.")
    for key, value in measured.items():
        kind = MEASURED_KEYS.get(key)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{path}: [measured] {key}: expected one of {', '.join(MEASURED_KEYS)} "
                              f"(parameters a whole number, cpu and gpu text).")
    for key, value in values.items():
        if isinstance(value, dict):
            raise ConfigError(f"{path}: [{key}]: presets are flat; put settings at the top level.")
    if "preset" in values:
        raise ConfigError(f"{path}: preset: the preset name comes from the file name; remove this key.")
    config = config_from(TrainConfig.from_dict(values, str(path)), {"preset": path.stem},
                    lambda key: f"{path}: the file name")
    return PresetInfo(path.stem, config, measured)


def load_preset(name: str) -> TrainConfig:
    """Read a preset by name (or .toml path) into a validated config."""
    return read_preset(name).config


def all_presets(device: str | None = None) -> list[PresetInfo]:
    """Every preset file, with ``device`` applied; a file that cannot be used is listed with its problem."""
    infos = []
    for name in preset_names():
        try:
            info = read_preset(name)
            infos.append(replace(info, config=with_overrides(info.config, {"device": device})))
        except ConfigError as exc:
            infos.append(PresetInfo(name, None, problem=str(exc)))
    return infos
