"""Preset files: the shipped ones (package data, read with importlib.resources), a person's own (a
``--presets-dir`` folder and the per-user folder, ``$XDG_CONFIG_HOME/fmtui/presets`` or
``~/.config/fmtui/presets``) and any .toml a person names, read into a checked TrainConfig with the facts
measured with them (``[measured]``).

A preset name is looked up in the person's folders first: their ``tinyvgg.toml`` is the one they mean.
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
from fmtui.core.models import _user


def presets_dir() -> Path:
    """Where the shipped preset files live: the package data of fmtui.presets (presets/ in a source tree)."""
    return Path(os.fspath(resources.files("fmtui.presets")))


def user_presets_dir() -> Path:
    """The per-user preset folder, as the XDG base directory spec places configuration (a relative
    XDG_CONFIG_HOME is to be ignored, the spec says)."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "fmtui" / "presets"


def check_presets_dir(extra: Path | None) -> None:
    """ConfigError when ``--presets-dir`` names no folder; the per-user folder may well not exist."""
    if extra is not None and not Path(extra).is_dir():
        raise ConfigError(f"--presets-dir {extra}: no such folder.")


def preset_dirs(extra: Path | None = None) -> list[tuple[Path, bool]]:
    """The folders a preset name is looked up in, first first, each with whether it is the person's own."""
    mine = [Path(extra)] if extra is not None else []
    return [*((d, True) for d in mine), (user_presets_dir(), True), (presets_dir(), False)]


def _preset_files(extra: Path | None = None) -> dict[str, tuple[Path, bool]]:
    """Each preset name with its file and whether it is the person's, the first folder's file winning."""
    found: dict[str, tuple[Path, bool]] = {}
    for folder, mine in preset_dirs(extra):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            found.setdefault(path.stem, (path, mine))
    return found


def listing_order(name: str, mine: bool = False) -> tuple[bool, int, str]:
    """Where a preset is listed: the shipped ones in fmtui.presets.ORDER (the article's pair first), then
    any other shipped one by name, then the person's own by name."""
    from fmtui.presets import ORDER

    return mine, ORDER.index(name) if name in ORDER and not mine else len(ORDER), name


def preset_names(extra: Path | None = None) -> list[str]:
    files = _preset_files(extra)
    return sorted(files, key=lambda name: listing_order(name, files[name][1]))


def preset_path(name: str, extra: Path | None = None) -> Path:
    """The file for a preset name, or the path itself when given a .toml file."""
    if name.endswith(".toml") or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"preset file {path} does not exist.")
        return path
    files = _preset_files(extra)
    if name not in files:
        names = preset_names(extra)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        folders = ", ".join(str(d) for d, _ in preset_dirs(extra))
        raise ConfigError(f"unknown preset '{name}'.{hint} Available presets: {', '.join(names) or 'none'} "
                          f"(in {folders}); `fmtui presets` describes them.")
    return files[name][0]


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
    path: Path | None = None
    yours: bool = False  # from the person's own folders, not shipped with fmtui


def read_preset(name: str, extra: Path | None = None) -> PresetInfo:
    """Read a preset by name (or .toml path): its validated config and its [measured] table."""
    path = preset_path(name, extra)
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
    model = values.get("model")
    if isinstance(model, str) and _user.is_reference(model):
        try:  # your model file is named relative to the preset file, wherever fmtui runs
            values["model"] = _user.resolved(model, path.parent)
        except ConfigError:
            pass  # malformed: from_dict says so, naming the file and key
    config = config_from(TrainConfig.from_dict(values, str(path)), {"preset": path.stem},
                    lambda key: f"{path}: the file name")
    if _user.is_reference(config.model) and (problem := _user.file_problem(config.model)):
        raise ConfigError(f"{path}: model = {model!r}: {problem}.")
    return PresetInfo(path.stem, config, measured, path=path)


def load_preset(name: str, extra: Path | None = None) -> TrainConfig:
    """Read a preset by name (or .toml path) into a validated config."""
    return read_preset(name, extra).config


def all_presets(device: str | None = None, extra: Path | None = None) -> list[PresetInfo]:
    """Every preset file, shipped ones first, then the person's own (``yours``), with ``device`` applied; a
    file that cannot be used is listed with its problem."""
    infos = []
    files = _preset_files(extra)
    for name, (path, mine) in sorted(files.items(), key=lambda item: listing_order(item[0], item[1][1])):
        try:
            info = replace(read_preset(str(path)), name=name, yours=mine)
            infos.append(replace(info, config=with_overrides(info.config, {"device": device})))
        except ConfigError as exc:
            infos.append(PresetInfo(name, None, problem=str(exc), path=path, yours=mine))
    return infos
