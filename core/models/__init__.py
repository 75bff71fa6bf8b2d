"""The models fmtui trains, one module per model in this package, chosen by the module's name.

Each model module defines ``SPEC``, a ``ModelSpec``. The names are found from the file names alone,
without importing a model module (they import torch), so checking a preset's ``model =`` and the
monitor's first screen never wait for torch. Adding a model is one module here and one preset file.

A model defined outside fmtui (``model = "mynet.py:Net"``, ``"package.module:factory"``) is built by
fmtui.core.models._user, behind the same ``model_spec`` and ``build_model``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from fmtui.core.errors import ConfigError
from fmtui.core.models import _user

if TYPE_CHECKING:
    from torch import nn


class TrainConfig(Protocol):
    """What a model is built from: a fmtui.core.config.settings.TrainConfig, which reads its model names
    from here, so this package does not import it (a model reads the settings it needs by name)."""

    model: str

NUM_CLASSES = 10


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[TrainConfig], nn.Module]  # a freshly initialised model; seed torch first
    summary: Callable[[TrainConfig], str]  # one line for the status bar and `fmtui presets`
    # channels_last speeds up convolutions (oneDNN on CPUs, tensor cores on GPUs); pointless without them.
    channels_last: bool


_DISCOVERED = tuple(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
# The specs loaded so far, by name; a model defined elsewhere (a test's, say) is added here too.
SPECS: dict[str, ModelSpec] = {}


def model_names() -> tuple[str, ...]:
    return tuple(sorted({*_DISCOVERED, *SPECS}))


def model_spec(name: str) -> ModelSpec:
    if _user.is_reference(name):
        # Not cached: the file is read afresh at each build, so an edited model reaches the next run.
        return ModelSpec(build=_user.build, summary=lambda config: _user.summary(config.model), channels_last=False)
    if name not in SPECS:
        SPECS[name] = importlib.import_module(f"{__name__}.{name}").SPEC
    return SPECS[name]


def model_label(name: str) -> str:
    """``name`` as a person reads it in a narrow column: a built-in model's name, or your own by its file's
    name and class (``mynet.py:Net``), without the absolute path the config records."""
    return name.rpartition("/")[2] if _user.is_reference(name) else name


def build_model(config: TrainConfig) -> nn.Module:
    """A freshly initialised model for ``config.model``; seed torch first for reproducible weights."""
    return model_spec(config.model).build(config)


def check_batch_size(model: nn.Module, batch_size: int) -> None:
    """ConfigError where ``model`` cannot train on batches of ``batch_size``: BatchNorm in training takes
    its statistics from the batch, and one image gives it none worth having (PyTorch refuses a single
    value per channel, and bf16 channels-last kernels crash the process outright on some CPUs). The
    training loop drops a last partial batch (drop_last), so the batch size is the only size it sees."""
    from torch import nn

    if batch_size >= 2:
        return
    norms = sorted({type(m).__name__ for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)})
    if norms:
        raise ConfigError(f"--batch-size {batch_size} (batch_size in the preset): the model's {', '.join(norms)} "
                          f"layers need at least 2 images per batch to train; use --batch-size 2 or more.")


def check_side(model: nn.Module, side: int) -> None:
    """ConfigError where progressive resizing starts at a ``side`` the model cannot take: one image of that
    size through it, before the data loads (a head that reads a fixed-size map refuses most sides)."""
    if not side:
        return
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, side, side))
    except (RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"resize_from = {side}: the model fails on {side}x{side} images ({reason}). Use a side "
                          f"it takes (tinyvgg: 24 to 27), or resize_from = 0 to train at 28x28 throughout.") from None
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
