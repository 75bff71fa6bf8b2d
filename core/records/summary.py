"""summary.json: a run at a glance, as one typed record with one reader and one writer.

Each field is declared once, with the kind of JSON value it may hold (fmtui.core.records.schema); the
reader refuses a file whose fields are missing or of another kind, naming the file and the field.
The trainer changes a summary only through the methods below, so a run's record moves through the
same few states whoever writes it: begun, resumed, one more epoch, ended, failed.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fmtui.core.records import schema
from fmtui.core.records.schema import COUNT, EPOCH, NUMBER, STATUS, TEXT, Kind, or_null
from fmtui.core.records.status import RunStatus


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Summary:
    run_id: Annotated[str, TEXT]
    preset: Annotated[str, TEXT]
    model: Annotated[str, TEXT]
    status: Annotated[RunStatus, STATUS]
    epochs: Annotated[int, COUNT]  # complete epochs
    epochs_planned: Annotated[int, EPOCH]
    best_epoch: Annotated[int | None, or_null(EPOCH)]  # by the config's `select`; best.pt holds its weights
    best_val_accuracy: Annotated[float | None, or_null(NUMBER)]
    best_val_loss: Annotated[float | None, or_null(NUMBER)]
    test_accuracy: Annotated[float | None, or_null(NUMBER)]  # the best weights on the test split
    test_loss: Annotated[float | None, or_null(NUMBER)]
    started_at: Annotated[str, TEXT]  # ISO 8601 with the UTC offset
    ended_at: Annotated[str | None, or_null(TEXT)]
    duration_seconds: Annotated[float, NUMBER]  # training and testing, over every process that ran it
    device: Annotated[str, TEXT]
    parameters: Annotated[int, COUNT]
    seed: Annotated[int, COUNT]
    pid: Annotated[int, COUNT]  # of the process that last trained it
    host: Annotated[str, TEXT]  # where that process ran: its lock is visible only there
    error: Annotated[str | None, or_null(TEXT)]  # why it failed
    # Where its FashionMNIST was read from (absolute), so `fmtui eval` and an attached monitor find the
    # same images; null where the data was handed over in memory. Older records lack it.
    data_dir: Annotated[str | None, or_null(TEXT)] = None

    @classmethod
    def from_json(cls, obj: Any, path: Any) -> Summary:
        """The reader: ``obj`` as summary.json at ``path`` held it, checked field by field."""
        if isinstance(obj, dict):
            obj = {**ADDED_LATER, **obj}
        schema.check_fields(obj, SUMMARY_FIELDS, str(path))
        values = {name: obj[name] for name in SUMMARY_FIELDS}
        return cls(**{**values, "status": RunStatus(values["status"])})

    def to_json(self) -> dict[str, Any]:
        """The writer: what summary.json holds, field for field."""
        return {**dataclasses.asdict(self), "status": str(self.status)}

    # --- the states a run's record moves through ---------------------------------------------------

    def resumed(self, device: str, data_dir: str | None) -> Summary:
        """Running again, in this process, on ``device``, with the data in ``data_dir``."""
        return dataclasses.replace(self, status=RunStatus.RUNNING, pid=os.getpid(), host=socket.gethostname(),
                                   error=None, ended_at=None, device=device, data_dir=data_dir)

    def progressed(self, epochs: int, best_epoch: int | None, best_val_loss: float | None,
                   best_val_accuracy: float | None) -> Summary:
        return dataclasses.replace(self, epochs=epochs, best_epoch=best_epoch, best_val_loss=best_val_loss,
                                   best_val_accuracy=best_val_accuracy)

    def ended(self, status: RunStatus, test_accuracy: float | None, test_loss: float | None,
              seconds: float) -> Summary:
        """Over, as ``status``, after ``seconds`` more in this process."""
        return dataclasses.replace(self, status=status, test_accuracy=test_accuracy, test_loss=test_loss,
                                   ended_at=_now(), duration_seconds=self.duration_seconds + seconds)

    def failed(self, message: str) -> Summary:
        return dataclasses.replace(self, status=RunStatus.FAILED, error=message, ended_at=_now())


# Every field with the kind of value it may hold, from the annotations above: one list, never two.
SUMMARY_FIELDS: dict[str, Kind] = {
    name: hint.__metadata__[0] for name, hint in typing.get_type_hints(Summary, include_extras=True).items()
}
# The fields added since the first records, with the value an older summary.json stands for.
ADDED_LATER = {field.name: field.default for field in dataclasses.fields(Summary)
               if field.default is not dataclasses.MISSING}
