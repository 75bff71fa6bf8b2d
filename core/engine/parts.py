"""The trainer's parts, one concern each (as Lightning's callbacks are): the best checkpoint, early
stopping, the weight average and backbone freezing.

Each part keeps its own state: ``state_dict()`` is saved in last.pt under the part's ``name`` after
every epoch, and ``load_state_dict()`` gets it back when a run resumes, checked first against the
part's ``fields``. A part that needs one more piece of state adds it here, in its own class, and the
trainer, the resume code and last.pt's format stay as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from torch import nn

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import improves
from fmtui.core.engine.loop import Evaluation, make_ema
from fmtui.core.records import schema
from fmtui.core.records.checkpoints import make_checkpoint
from fmtui.core.records.schema import COUNT, NUMBER, TENSOR, Kind, or_null


class Part(Protocol):
    name: ClassVar[str]  # its key in last.pt's "parts"
    fields: ClassVar[Mapping[str, Kind]]  # what its saved state must hold

    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class BestCheckpoint:
    """The best weights so far, as best.pt holds them: the test split is scored with these, `fmtui eval`
    reads them. Best by the config's ``select``: the validation loss (strictly lower wins) or the
    validation accuracy (strictly higher wins, or the same accuracy with a strictly lower loss)."""

    name = "best_checkpoint"
    fields = {"epoch": COUNT, "val_loss": NUMBER, "val_accuracy": or_null(NUMBER)}

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.epoch = 0  # none yet
        self.val_loss = math.inf
        self.val_accuracy: float | None = None

    def validated(self, epoch: int, val: Evaluation, weights: nn.Module) -> dict[str, Any] | None:
        """The checkpoint to save when ``val`` beats the best so far; None otherwise."""
        if not improves(self.config.select, val.loss, val.accuracy, self.val_loss, self.val_accuracy):
            return None
        self.epoch, self.val_loss, self.val_accuracy = epoch, val.loss, val.accuracy
        return make_checkpoint(self.config, weights.state_dict(), epoch, val.loss, val.accuracy)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "val_loss": self.val_loss, "val_accuracy": self.val_accuracy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.val_loss, self.val_accuracy = state["epoch"], state["val_loss"], state["val_accuracy"]


class EarlyStopping:
    """Ends the training once the best checkpoint has not improved for ``patience`` epochs (0: never)."""

    name = "early_stopping"
    fields = {"bad_epochs": COUNT}

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.bad_epochs = 0  # epochs since the best one

    def validated(self, improved: bool) -> None:
        self.bad_epochs = 0 if improved else self.bad_epochs + 1

    @property
    def triggered(self) -> bool:
        return bool(self.patience) and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.bad_epochs = state["bad_epochs"]


class WeightAverage:
    """An exponential moving average of the weights (fmtui.core.engine.loop.make_ema), updated after every
    optimiser step: validation, best.pt and so the test use the average rather than the last step."""

    name = "weight_average"
    fields = {"n_averaged": TENSOR}  # the rest is the averaged model's own state dict

    def __init__(self, model: nn.Module, decay: float) -> None:
        average = make_ema(model, decay)
        assert average is not None, "a weight average needs a decay above 0"
        self.average = average

    def stepped(self, model: nn.Module) -> None:
        self.average.update_parameters(model)

    @property
    def module(self) -> nn.Module:
        return self.average.module

    def state_dict(self) -> dict[str, Any]:
        return self.average.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.average.load_state_dict(state)


@runtime_checkable
class HasBackbone(Protocol):
    """A model with pretrained layers that can be held still (fmtui.core.models.resnet18)."""

    def freeze_backbone(self, frozen: bool) -> None: ...


class BackboneFreeze:
    """Holds a pretrained backbone still for the first ``freeze_epochs`` epochs, while a new head settles."""

    name = "backbone_freeze"
    fields: ClassVar[Mapping[str, Kind]] = {}

    def __init__(self, model: HasBackbone, freeze_epochs: int) -> None:
        self.model, self.freeze_epochs = model, freeze_epochs

    def epoch_started(self, epoch: int) -> None:
        self.model.freeze_backbone(epoch <= self.freeze_epochs)

    def state_dict(self) -> dict[str, Any]:
        return {}  # whether the backbone is frozen follows from the epoch, which the trainer keeps

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: the next ``epoch_started`` sets the backbone as that epoch wants it."""


@dataclass
class Parts:
    """The parts of one run; the weight average and the freeze only where its config and model have them."""

    best: BestCheckpoint
    early_stopping: EarlyStopping
    average: WeightAverage | None
    freeze: BackboneFreeze | None

    def __iter__(self) -> Iterator[Part]:
        return iter([p for p in (self.best, self.early_stopping, self.average, self.freeze) if p is not None])

    def evaluated_model(self, model: nn.Module) -> nn.Module:
        """What validation scores and best.pt keeps: the weight average where there is one."""
        return self.average.module if self.average is not None else model

    def epoch_started(self, epoch: int) -> None:
        if self.freeze is not None:
            self.freeze.epoch_started(epoch)

    def stepped(self, model: nn.Module) -> None:
        if self.average is not None:
            self.average.stepped(model)

    def validated(self, epoch: int, val: Evaluation, model: nn.Module) -> dict[str, Any] | None:
        """After an epoch's validation: the new best checkpoint to save, if it is one."""
        best = self.best.validated(epoch, val, self.evaluated_model(model))
        self.early_stopping.validated(best is not None)
        return best

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {part.name: part.state_dict() for part in self}

    def load_state_dict(self, saved: dict[str, Any], where: str) -> None:
        """Each part's state from ``saved`` (last.pt's "parts", read from ``where``), checked before use."""
        for part in self:
            part.load_state_dict(schema.check_fields(saved.get(part.name), part.fields, f"{where} ({part.name})"))


def make_parts(config: TrainConfig, model: nn.Module) -> Parts:
    return Parts(best=BestCheckpoint(config), early_stopping=EarlyStopping(config.patience),
                 average=WeightAverage(model, config.ema) if config.ema else None,
                 freeze=BackboneFreeze(model, config.freeze_epochs) if isinstance(model, HasBackbone) else None)
