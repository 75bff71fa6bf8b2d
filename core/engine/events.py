"""What the trainer reports, as small frozen facts, and the bus that delivers them.

Events are named in the past tense; each serialises to one JSON object with an ``event`` field
(``fmtui train --json`` prints exactly these). The bus hands them to subscribers on its own
thread, so a slow subscriber (a terminal, a file) never holds up training.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from fmtui.core.records.status import RunStatus

BestBy = Literal["loss", "accuracy"]  # the validation score that picks the best epoch (the `select` setting)


def improves(best_by: str, loss: float, accuracy: float, best_loss: float, best_accuracy: float | None) -> bool:
    """Whether an epoch's validation scores beat the best so far (``best_loss`` inf: none yet) by the
    rule ``best_by`` names (the `select` setting). A loss that is not finite (a diverged run) never wins."""
    if best_by == "accuracy" and math.isfinite(best_loss) and best_accuracy is not None:
        return math.isfinite(loss) and (accuracy, -loss) > (best_accuracy, -best_loss)
    return loss < best_loss


@dataclass(frozen=True)
class Event:
    coalesce: ClassVar[bool] = False  # a newer event of the same kind may replace an undelivered one
    local: ClassVar[bool] = False  # for subscribers in this process only: never written out as JSON

    @classmethod
    def kind(cls) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind(), **{k: _jsonable(v) for k, v in asdict(self).items()}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity; a diverged loss is reported as null
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class RunStarted(Event):
    run_id: str
    run_dir: str
    preset: str
    model: str
    config: dict[str, Any]
    model_summary: str
    parameters: int
    device: str
    epochs: int
    first_epoch: int  # 1, or the epoch a resumed run continues from
    batches_per_epoch: int
    train_size: int
    val_size: int
    test_size: int
    class_names: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class DataLoaded(Event):
    """The validation and test images, once per run, right after RunStarted, for views of single images.

    Sent once so that the per-epoch ``Evaluated`` events stay small: those carry only each image's
    prediction and confidence, in the order of these arrays. The arrays are read-only views of the
    trainer's own uint8 data (no copy on a CPU; one copy from a GPU), shared and never written.
    ``local``: ``--json`` leaves it out, its content being the dataset itself.
    """

    local: ClassVar[bool] = True
    # numpy arrays, typed loosely so that this module (read by the command line) need not import numpy
    val_images: Any  # uint8 (N, 28, 28), in the validation split's order
    val_labels: Any  # int64 (N,)
    test_images: Any  # uint8 (10000, 28, 28), in the test file's order
    test_labels: Any

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind(), "val_images": len(self.val_labels), "test_images": len(self.test_labels)}


@dataclass(frozen=True)
class BatchEnded(Event):
    """Progress within an epoch, throttled to about ten a second."""

    coalesce: ClassVar[bool] = True
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float  # mean training loss of the batches since the previous BatchEnded
    images_per_second: float
    elapsed_seconds: float  # training time so far, pauses excluded
    eta_seconds: float | None


@dataclass(frozen=True)
class EpochEnded(Event):
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    images_per_second: float
    best_epoch: int  # the best epoch so far, by ``best_by``: its weights are best.pt's
    elapsed_seconds: float
    best_by: BestBy = "loss"  # a default: logs written before there was a choice read as they meant


@dataclass(frozen=True)
class Evaluated(Event):
    """A confusion matrix with per-class precision, recall and F1, on the validation or test split, and
    each image's prediction with its confidence (in the order of DataLoaded's arrays for that split)."""

    split: str  # "validation" or "test"
    epoch: int
    accuracy: float
    loss: float
    confusion: tuple[tuple[int, ...], ...]  # rows: true class, columns: predicted class
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    class_names: tuple[str, ...]
    f1: tuple[float, ...] = ()
    predictions: tuple[int, ...] = ()  # per image: the predicted class
    confidences: tuple[float, ...] = ()  # per image: the softmax probability of that prediction

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["confidences"] = [round(c, 4) for c in self.confidences]  # four digits are plenty, and short
        return out


@dataclass(frozen=True)
class TestStarted(Event):
    """The best weights are being scored on the test split: seconds for a CNN on a CPU."""
    best_epoch: int
    images: int


@dataclass(frozen=True)
class EarlyStopped(Event):
    epoch: int
    best_epoch: int
    patience: int  # epochs without a better validation score (by ``best_by``)
    best_by: BestBy = "loss"


@dataclass(frozen=True)
class DataUnavailable(Event):
    """A monitor attached to a run elsewhere could not read the run's images (its log leaves them out):
    the views of single images say why instead of showing none."""

    local: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True)
class Paused(Event):
    epoch: int
    batch: int


@dataclass(frozen=True)
class Resumed(Event):
    epoch: int
    batch: int


@dataclass(frozen=True)
class StopRequested(Event):
    reason: RunStatus  # stopped (a person asked), interrupted (a signal) or pruned (by a sweep)


@dataclass(frozen=True)
class Diverged(Event):
    epoch: int
    batch: int
    loss: float


@dataclass(frozen=True)
class RunFinished(Event):
    status: RunStatus  # any final status but failed, which RunFailed reports
    epochs_completed: int
    best_epoch: int | None
    best_val_accuracy: float | None
    test_accuracy: float | None  # None when interrupted before evaluation, or nothing was trained
    test_loss: float | None
    seconds: float
    run_dir: str | None  # None: stopped while the data loaded, before a record was begun


@dataclass(frozen=True)
class RunFailed(Event):
    error: str
    user_error: bool  # bad input or environment (exit code 2), as opposed to a bug
    run_dir: str | None
    traceback: str = ""


Subscriber = Callable[[Event], None]
