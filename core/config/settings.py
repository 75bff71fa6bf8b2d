"""Training configuration: one frozen dataclass, filled from defaults, then a preset file, then flags.

Each field says why it exists. Preset files (``presets/*.toml``) set any of these fields at the top
level; anything else in them is an error that names the key and the file.
"""

from __future__ import annotations

import difflib
import math
import tomllib
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

from fmtui.core.engine.events import BestBy
from fmtui.core.errors import ConfigError
from fmtui.core.models import _user, model_names

SCHEDULES = ("constant", "step", "cosine", "onecycle", "linear")
OPTIMIZERS = ("adamw", "sgd")
CPU_PRECISIONS = ("auto", "bf16", "fp32")
SELECTIONS = typing.get_args(BestBy)  # loss, accuracy


def _setting(default: Any, doc: str, *, check: Callable[[Any], str | None] | None = None,
             choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "check": check, "choices": choices})


def _at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low:g}"


def _positive(v: float) -> str | None:
    return None if v > 0 and math.isfinite(v) else "must be a finite number greater than 0"


def _fraction(v: float) -> str | None:
    return None if 0 <= v < 1 else "must be at least 0 and below 1"


def _open_fraction(v: float) -> str | None:
    return None if 0 < v < 1 else "must be between 0 and 1 (exclusive)"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def _device(v: str) -> str | None:
    # isascii: str.isdigit() also accepts '²' and other digits int() and PyTorch do not.
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isascii() and v[5:].isdecimal()):
        return None
    return "must be auto, cpu, cuda or cuda:N"


MAX_SEED = 2**64 - 1  # torch.manual_seed takes 64 bits


def _seed(v: int) -> str | None:
    return None if 0 <= v <= MAX_SEED else f"must be between 0 and {MAX_SEED} (2**64 - 1)"


def _run_name(v: str) -> str | None:
    # The preset name starts each run directory's name, so it must stay one path component: checked
    # with the other settings, before any data loads or directory is made.
    if not v or v in (".", "..") or "/" in v or "\\" in v:
        return "must be a name usable in a directory name: not empty, no '/' or '\\', not '.' or '..'"
    if len(v.encode("utf-8")) > 100:
        return "must be at most 100 bytes long"
    return None


def _known_model(v: str) -> str | None:
    if _user.is_reference(v):  # your own model: only its spelling here, its file when a preset is read
        try:
            _user.parse(v)
        except ConfigError as exc:
            return str(exc)
        return None
    names = model_names()  # from the model modules' file names: no torch import
    return None if v in names else (f"unknown model; choose one of {', '.join(names)}, or name your own "
                                    f"as {_user.FORMS}")


def _widths(v: tuple[int, ...]) -> str | None:
    if not 1 <= len(v) <= 4:
        return "must list 1 to 4 stages (each halves the image side, and 28 halves only four times)"
    return None if min(v) >= 1 else "every entry must be at least 1"


def _convs(v: tuple[int, ...]) -> str | None:
    return None if not v else _widths(v)


def _resize_side(v: int) -> str | None:
    return None if v == 0 or 8 <= v <= 27 else "must be 0 (off) or a side from 8 to 27 pixels"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a run trains; recorded verbatim in each run directory."""

    preset: str = _setting("custom", "Name of the preset this configuration came from (for records).",
                           check=_run_name)
    description: str = _setting("", "One line shown in the preset menu and `fmtui presets`.")
    model: str = _setting("tinyvgg", "Architecture: the name of a module in core/models/, or your own as "
                                     "'file.py:Class' (relative to the preset file) or 'package.module:factory'.",
                          check=_known_model)
    widths: tuple[int, ...] = _setting((32, 64, 128), "Channels of each stage (tinyvgg: conv block; resnet: "
                                                      "residual stage); wider is more capacity and time.",
                                       check=_widths)
    blocks: tuple[int, ...] = _setting((2, 2, 2), "resnet: residual blocks in each stage, one entry per width; "
                                                  "deeper is more blocks.", check=_widths)
    convs: tuple[int, ...] = _setting((), "tinyvgg: conv-BN-ReLU layers in each block, one entry per width; "
                                          "empty: two in each (the article's). One at 28x28 is much cheaper.",
                                      check=_convs)
    se: bool = _setting(False, "resnet: a squeeze-and-excitation gate in every block (channel attention).")
    pretrained: bool = _setting(False, "resnet18: start from torchvision's ImageNet weights (downloaded once "
                                       "into the torch hub cache) instead of random ones.")
    backbone_lr: float = _setting(0.1, "resnet18: learning rate of the pretrained layers, as a fraction of lr "
                                       "(the new head gets lr itself).", check=_between(0, 1))
    freeze_epochs: int = _setting(0, "resnet18: epochs the pretrained layers stay frozen while the new head "
                                     "settles.", check=_at_least(0))
    epochs: int = _setting(10, "Upper bound on passes over the training split; early stopping may end sooner.",
                           check=_between(1, 10_000))
    batch_size: int = _setting(256, "Images per optimiser step; larger batches use the CPU's vector units better.",
                               check=_at_least(1))
    optimizer: str = _setting("adamw", "adamw (Adam with decoupled weight decay), or sgd (momentum 0.9, Nesterov), "
                                       "which wants a learning rate about 30 times higher.", choices=OPTIMIZERS)
    lr: float = _setting(1e-3, "Peak learning rate of the optimiser (the schedule scales it).", check=_positive)
    weight_decay: float = _setting(0.0, "Weight decay: decoupled for adamw (0 gives plain Adam), an L2 penalty "
                                        "for sgd (where 5e-4 is usual).", check=_at_least(0))
    schedule: str = _setting("cosine", "Learning-rate decay, stepped every batch; onecycle warms up, then "
                                       "follows a cosine down, linear warms up, then falls straight to zero.",
                             choices=SCHEDULES)
    step_every: int = _setting(5, "Epochs between decays when schedule = 'step'.", check=_at_least(1))
    step_gamma: float = _setting(0.5, "Factor applied at each decay when schedule = 'step'.",
                                 check=_between(1e-6, 1))
    warmup: float = _setting(0.2, "Fraction of training spent warming up when schedule = 'onecycle' or 'linear'.",
                             check=_open_fraction)
    label_smoothing: float = _setting(0.0, "Cross-entropy label smoothing; softens over-confident CNNs.",
                                      check=_fraction)
    dropout: float = _setting(0.0, "Dropout before the classifier head.", check=_fraction)
    select: str = _setting("loss", "The validation score that picks the epoch whose weights best.pt keeps (and the "
                                   "test split scores), and that early stopping watches: loss (strictly lower "
                                   "wins) or accuracy (strictly higher wins, or the same with a lower loss). "
                                   "Accuracy suits a short run with label smoothing, whose loss can stop "
                                   "falling while its accuracy still rises.", choices=SELECTIONS)
    patience: int = _setting(0, "Epochs without a better validation score (see `select`) before stopping early; "
                                "0 never stops.", check=_at_least(0))
    flip: bool = _setting(False, "Augment: random horizontal flips (clothes are left-right symmetric).")
    shift: int = _setting(0, "Augment: random translation of up to this many pixels.", check=_between(0, 8))
    rotate: float = _setting(0.0, "Augment: random rotation of up to this many degrees.", check=_between(0, 45))
    erase: float = _setting(0.0, "Augment: probability of replacing a random rectangle of the image with noise "
                                 "(random erasing), so no single region decides the class.", check=_fraction)
    resize_from: int = _setting(0, "Progressive resizing: the first epoch trains on images scaled down to this "
                                   "side, growing to the full 28 by `resize_until` of the run (validation and "
                                   "test stay 28x28); smaller images train faster. 0: off. A model whose head "
                                   "reads a fixed map takes only some sides (tinyvgg: 24 to 27).",
                                check=_resize_side)
    resize_until: float = _setting(0.5, "Fraction of the epochs over which `resize_from` grows to 28x28; the "
                                        "rest train at full size.", check=_open_fraction)
    ema: float = _setting(0.0, "Decay of an exponential moving average of the weights, evaluated instead of "
                               "the raw weights (warmed up: min(ema, (1 + n) / (10 + n)) after n steps); "
                               "0 turns it off.", check=_fraction)
    tta_flip: bool = _setting(False, "Evaluate each image and its mirror image and average the logits.")
    val_size: int = _setting(5000, "Training images held out (stratified) for early stopping and model selection.",
                             check=_at_least(10))
    train_subset: int = _setting(0, "Train on only this many images of the training split (0: all); "
                                    "for quick checks.", check=_at_least(0))
    seed: int = _setting(0, "Seeds weights, shuffling, augmentation and dropout; same seed, same run.",
                         check=_seed)
    device: str = _setting("auto", "auto (CUDA when present, else CPU), cpu, cuda or cuda:N.", check=_device)
    cpu_precision: str = _setting("auto", "The number format on a CPU: auto (a CNN in bfloat16 autocast where the "
                                          "CPU has AVX512-BF16 or AMX, as PyTorch finds at run time; float32 where "
                                          "bfloat16 would be emulated, and for the linear model), bf16 or fp32. "
                                          "GPUs always train in bfloat16 autocast.", choices=CPU_PRECISIONS)
    compile: bool = _setting(False, "torch.compile the model (worth it on a GPU, slow to start on a CPU).")
    study: str = _setting("", "The Optuna study (`fmtui sweep`) this run is a trial of; empty for a run of its own. "
                              "Recorded so a run directory says which search it belongs to.")
    trial: int = _setting(-1, "The run's trial number in ``study`` (-1 when not a trial).", check=_at_least(-1))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str) -> TrainConfig:
        """Build a config from a mapping (a preset file, a record), rejecting anything unusable."""
        return config_from(cls(), _upgraded(values), lambda key: f"{where}: {key}")


def _upgraded(values: dict[str, Any]) -> dict[str, Any]:
    """Settings as older presets and records spelled them, in today's words (the same behaviour)."""
    if isinstance(values.get("cpu_bf16"), bool) and "cpu_precision" not in values:
        values = dict(values)
        values["cpu_precision"] = "bf16" if values.pop("cpu_bf16") else "fp32"
    return values


# Names people reach for out of habit (other tools' spellings), and the setting they mean.
_ALIASES = {"learning_rate": "lr", "epoch": "epochs", "batch": "batch_size", "bs": "batch_size",
            "wd": "weight_decay", "scheduler": "schedule", "lr_schedule": "schedule", "arch": "model",
            "architecture": "model", "smoothing": "label_smoothing", "early_stopping": "patience"}


def config_from(base: TrainConfig, values: dict[str, Any], name: Callable[[str], str]) -> TrainConfig:
    known = {f.name: f for f in fields(TrainConfig)}
    hints = typing.get_type_hints(TrainConfig)
    checked = {}
    for key, value in values.items():
        if key not in known:
            close = [_ALIASES[key]] if key in _ALIASES else difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{name(key)}: unknown setting{hint}. Known settings: {', '.join(known)}.")
        checked[key] = _check_value(name(key), known[key], hints[key], value)
    if "model" in checked:
        # A relative model file is relative to where it was named (a flag: here; a preset file: its folder,
        # made absolute when the file is read), and recorded absolute so resumes and evals find it anywhere.
        checked["model"] = _user.resolved(checked["model"], Path.cwd())
    return replace(base, **checked)


def _check_value(label: str, f: Any, kind: type, value: Any) -> Any:
    given = value  # messages quote what the person wrote, not its converted form
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind == tuple[int, ...]:
        # An empty list is a list: whether a setting takes one is its own check's to say.
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(f"{label} = {given!r}: expected {_TYPE_NAMES[kind]}.")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{label} = {given!r}: must be a finite number.")
    if kind is str and any(ord(c) < 32 or ord(c) == 127 for c in value):
        # A NUL cannot go into a file name or a C string; other control characters garble terminals.
        raise ConfigError(f"{label} = {given!r}: must not contain control characters.")
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise ConfigError(f"{label} = {given!r}: must be one of {', '.join(choices)}.")
    check = f.metadata["check"]
    problem = check(value) if check else None
    if problem:
        raise ConfigError(f"{label} = {given!r}: {problem}.")
    return value


_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
               tuple[int, ...]: "a list of whole numbers, such as [32, 64, 128]"}


def describe_settings() -> list[tuple[str, Any, str]]:
    """(name, default, why) for every setting, in declaration order."""
    return [(f.name, f.default if f.default is not MISSING else None, f.metadata["doc"])
            for f in fields(TrainConfig)]


# --- presets -------------------------------------------------------------------------------------

def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def with_overrides(config: TrainConfig, overrides: dict[str, Any],
                   label: Callable[[str], str] = flag_name) -> TrainConfig:
    """Apply command-line values (None means 'not given'); errors name the flag via ``label``."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return config_from(config, given, label)


def with_assignments(config: TrainConfig, assignments: list[str]) -> TrainConfig:
    """``config`` with each ``--set KEY=VALUE`` laid over it, in order; errors name ``--set KEY``."""
    for text in assignments:
        key, value = parse_assignment(text)
        config = with_overrides(config, {key: value}, label=lambda k: f"--set {k}")
    return config


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``--set key=value``; the value is read as TOML (numbers, true/false), else as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, for example --set dropout=0.2.")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value
