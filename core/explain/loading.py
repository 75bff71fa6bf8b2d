"""A run's best weights as a model ready to explain: read best.pt (of a finished run or a live one),
build the model its config names, load the weights, and find its convolutions; class names read from
what a person typed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.data.splits import normalize
from fmtui.core.errors import ConfigError, RecordError
from fmtui.core.models import build_model
from fmtui.core.records.checkpoints import Checkpoint, checked_source, load_checkpoint


@dataclass(frozen=True)
class LoadedModel:
    """A checkpoint's model in eval mode on the CPU, and what the views say about it."""

    checkpoint: Checkpoint
    model: nn.Module
    class_names: tuple[str, ...] = CLASS_NAMES

    @property
    def name(self) -> str:
        return self.checkpoint.config.model

    @property
    def convolutions(self) -> list[nn.Conv2d]:
        return [m for m in self.model.modules() if isinstance(m, nn.Conv2d)]

    def logits(self, images: np.ndarray) -> torch.Tensor:
        """Logits for uint8 images (N, 28, 28), one plain pass: no mirror-image averaging (tta_flip), so
        that a prediction and the maps that explain it come from the same computation."""
        with torch.inference_mode():
            return self.model(inputs(images))


def inputs(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, 28, 28) as the normalised (N, 1, 28, 28) float inputs the models take."""
    # A copy: the monitor's images are read-only views of the trainer's data, which torch will not wrap.
    return normalize(torch.from_numpy(np.array(images, dtype=np.uint8)).unsqueeze(1))


def load_model(path: Path) -> LoadedModel:
    """The model of a run directory's best.pt (or a best.pt file). A live run's best.pt is its best epoch
    so far: it is replaced whole (atomically), so reading it while the run trains is safe."""
    checkpoint = load_checkpoint(Path(path))
    checked_source(checkpoint)  # a user model's file gone: refused; edited since: explained as it is now
    model = build_model(checkpoint.config)
    try:
        model.load_state_dict(checkpoint.state_dict)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecordError(f"{checkpoint.path}: its weights do not fit the '{checkpoint.config.model}' model its "
                          f"config names ({first}). Explain a best.pt as a run wrote it.") from None
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # attributions need gradients for the inputs only
    return LoadedModel(checkpoint, model)


def class_index(name: str, class_names: Sequence[str] = CLASS_NAMES, *, flag: str = "--pair") -> int:
    """The index of a class named as a person would write it: case and spacing aside, its full name, a
    prefix of one class only ("T-shirt" for "T-shirt/top") or its number."""
    wanted = " ".join(name.split()).lower()
    if wanted.isdigit() and int(wanted) < len(class_names):
        return int(wanted)
    exact = [i for i, c in enumerate(class_names) if c.lower() == wanted]
    prefix = [i for i, c in enumerate(class_names) if wanted and c.lower().startswith(wanted)]
    found = exact or prefix
    if len(found) == 1:
        return found[0]
    raise ConfigError(f"{flag}: '{name}' is not a class{' (it could be several)' if found else ''}; the classes "
                      f"are {', '.join(class_names)} (or their numbers 0-{len(class_names) - 1}).")


def parse_pair(text: str, class_names: Sequence[str] = CLASS_NAMES) -> tuple[int, int]:
    """'Shirt,T-shirt/top' as (true class, predicted class); the two must differ."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ConfigError(f"--pair {text!r}: write the true class and the predicted class with a comma between, "
                          f"e.g. --pair Shirt,T-shirt/top.")
    true, predicted = (class_index(p, class_names) for p in parts)
    if true == predicted:
        raise ConfigError(f"--pair {text!r}: name two different classes (the true one, then what the model said).")
    return true, predicted


class LatestModel:
    """A run's best model, read again only when its best.pt has changed (a live run improves it now and
    then). Shared by the monitor's views and the threads that compute their maps, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: tuple[Path, tuple[int, int], LoadedModel] | None = None

    def get(self, run_dir: Path) -> LoadedModel:
        path = Path(run_dir) / "best.pt"
        try:
            stat = path.stat()
        except OSError:
            raise RecordError(f"{path}: no best weights yet; they are written when the first epoch has "
                              f"been validated.") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._held is None or self._held[:2] != (path, stamp):
                self._held = (path, stamp, load_model(path))
            return self._held[2]
