"""Run records: one directory per run, every file written atomically.

    runs/<started>-<preset>/
        config.json             the resolved configuration
        metrics.jsonl, .csv     one row per completed epoch
        confusion_matrix.csv    on the test split, with the best weights
        predictions.csv         each test image's true and predicted class and confidence (same weights)
        summary.json            preset, status, best_epoch, test_accuracy, epochs, ...
        best.pt                 best weights (by the `select` setting) and their config: `fmtui eval` reads it
        last.pt                 full training state after the last complete epoch: `--resume` reads it
        run.lock                held (flock) by the process writing the run, for as long as it lives

Every file is written through a temporary file and a rename (``files``), so a process killed at any
moment leaves it either as it was or as it was meant to be. The files of one epoch are all written
before any is renamed, so a disk that fills up mid-epoch leaves the record as the previous epoch left
it, summary included. What is read back is checked for shape (``schema``): a damaged record is
reported, naming the file, never half-used.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from fmtui.core.config.settings import TrainConfig
from fmtui.core.engine.events import EpochEnded, improves
from fmtui.core.errors import ConfigError, RecordError
from fmtui.core.records import schema
from fmtui.core.records.files import (
    Writer,
    atomic_write_all,
    atomic_write_json,
    csv_text,
    json_bytes,
    make_private_dir,
    read_json,
    text_bytes,
    torch_bytes,
    torch_load,
)
from fmtui.core.records.status import RunStatus
from fmtui.core.records.summary import Summary

# torch is imported where checkpoints are read or written: listing and comparing runs (and the TUI's
# first screen) should not wait for it.

STATE_FORMAT = "fmtui-training-state"
FORMAT_VERSION = 1  # of best.pt
STATE_VERSION = 2  # of last.pt: 2 keeps each part of the trainer's state apart (fmtui.core.engine.parts)
HISTORY_FIELDS = tuple(schema.HISTORY_FIELDS)  # metrics.csv's columns, in order
# predictions.csv's columns, in order; `fmtui eval --errors` lists its mistakes with the same fields.
PREDICTION_FIELDS = ("index", "true", "predicted", "true_name", "predicted_name", "confidence")


class RunRecord:
    """The directory of one run, and what fmtui writes into it and reads back."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    jsonl_path = property(lambda self: self.path / "metrics.jsonl")
    csv_path = property(lambda self: self.path / "metrics.csv")
    confusion_path = property(lambda self: self.path / "confusion_matrix.csv")
    predictions_path = property(lambda self: self.path / "predictions.csv")
    summary_path = property(lambda self: self.path / "summary.json")
    best_path = property(lambda self: self.path / "best.pt")
    state_path = property(lambda self: self.path / "last.pt")

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, runs_dir: Path, preset: str, started: datetime) -> RunRecord:
        """Make a new, uniquely named run directory under ``runs_dir``."""
        runs_dir = Path(runs_dir)
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordError(f"cannot create the runs directory {runs_dir}: {exc.strerror or exc}. "
                              f"Choose a writable one with --runs-dir.") from None
        stem = f"{started:%Y%m%d-%H%M%S}-{preset}"
        for n in range(1, 1000):
            path = runs_dir / (stem if n == 1 else f"{stem}-{n}")
            try:
                make_private_dir(path)  # 0700 whatever the umask: a record is its owner's alone
                return cls(path)
            except FileExistsError:
                continue
            except OSError as exc:
                raise RecordError(f"cannot write in the runs directory {runs_dir}: {exc.strerror or exc}. "
                                  f"Choose a writable one with --runs-dir.") from None
        raise RecordError(f"{runs_dir} already holds 999 runs named {stem}; choose another --runs-dir.")

    # --- writing -------------------------------------------------------------------------------

    def write_config(self, config: TrainConfig) -> None:
        atomic_write_json(self.config_path, config.to_dict())

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_all(self._history_files(history))

    def write_confusion(self, confusion: Any, class_names: tuple[str, ...]) -> None:
        atomic_write_all([self._confusion_file(confusion, class_names)])

    def write_summary(self, summary: Summary) -> None:
        atomic_write_json(self.summary_path, summary.to_json())

    def save_best(self, checkpoint: dict[str, Any]) -> None:
        atomic_write_all([(self.best_path, torch_bytes(checkpoint))])

    def save_state(self, state: dict[str, Any]) -> None:
        atomic_write_all([(self.state_path, torch_bytes(state))])

    def write_epoch(self, history: list[dict[str, Any]], state: dict[str, Any], summary: Summary,
                    best: dict[str, Any] | None = None) -> None:
        """An epoch's files as one change. Renamed best weights first and the summary last: a process
        killed between two renames leaves files at most one epoch ahead of the summary, which a resume
        recomputes exactly."""
        files = [(self.best_path, torch_bytes(best))] if best is not None else []
        files += self._history_files(history)
        files += [(self.state_path, torch_bytes(state)), (self.summary_path, json_bytes(summary.to_json()))]
        atomic_write_all(files)

    def write_outcome(self, summary: Summary, test: Any = None, confusion: Any = None,
                      class_names: tuple[str, ...] = ()) -> None:
        """The run's final summary, with the test split's confusion matrix and per-image predictions when
        it was tested (``test``: its Evaluation), as one change."""
        files = []
        if test is not None:
            files = [self._confusion_file(confusion, class_names), self._predictions_file(test, class_names)]
        atomic_write_all(files + [(self.summary_path, json_bytes(summary.to_json()))])

    def _predictions_file(self, evaluation: Any, class_names: tuple[str, ...]) -> tuple[Path, Writer]:
        """One row per test image, in file order, for other tools: it agrees with confusion_matrix.csv."""
        rows = [list(PREDICTION_FIELDS)]
        for i in range(len(evaluation.labels)):
            row = prediction(i, evaluation, class_names)
            rows.append([f"{row[k]:.4f}" if k == "confidence" else row[k] for k in PREDICTION_FIELDS])
        return self.predictions_path, text_bytes(csv_text(rows))

    def _history_files(self, history: list[dict[str, Any]]) -> list[tuple[Path, Writer]]:
        rows = [list(HISTORY_FIELDS)] + [[row[k] for k in HISTORY_FIELDS] for row in history]
        return [(self.jsonl_path, text_bytes("".join(json.dumps(row) + "\n" for row in history))),
                (self.csv_path, text_bytes(csv_text(rows)))]

    def _confusion_file(self, confusion: Any, class_names: tuple[str, ...]) -> tuple[Path, Writer]:
        rows = [["true \\ predicted", *class_names]]
        rows += [[name, *map(int, row)] for name, row in zip(class_names, confusion)]
        return self.confusion_path, text_bytes(csv_text(rows))

    def remove_stale_temporaries(self) -> None:
        """Delete temporary files a killed process left mid-write (the records themselves are whole)."""
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # --- reading -------------------------------------------------------------------------------

    def read_summary(self) -> Summary:
        return Summary.from_json(read_json(self.summary_path), self.summary_path)

    def read_config(self) -> TrainConfig:
        values = read_json(self.config_path)
        if not isinstance(values, dict):
            raise RecordError(f"{self.config_path} is unreadable: it does not hold the object fmtui writes.")
        try:
            return TrainConfig.from_dict(values, str(self.config_path))
        except ConfigError as exc:
            raise RecordError(str(exc)) from None

    def read_history(self) -> list[dict[str, Any]]:
        if not self.jsonl_path.exists():
            return []
        try:
            rows = [json.loads(line) for line in self.jsonl_path.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
        except (OSError, ValueError, RecursionError) as exc:
            raise RecordError(f"{self.jsonl_path} cannot be read: {exc}.") from None
        return schema.check_history(rows, self.jsonl_path)

    def read_predictions(self, classes: int) -> tuple[list[int], list[int], list[float]]:
        """predictions.csv as each test image's true class, predicted class and confidence, in file order;
        RecordError naming the file and line where a row is not as fmtui writes it."""
        import csv

        try:
            with open(self.predictions_path, encoding="utf-8", newline="") as file:
                rows = list(csv.reader(file))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise RecordError(f"{self.predictions_path} cannot be read: {exc}.") from None
        if not rows or tuple(rows[0]) != PREDICTION_FIELDS:
            raise RecordError(f"{self.predictions_path} is unreadable: its header is not "
                              f"{', '.join(PREDICTION_FIELDS)}.")
        true, predicted, confidence = [], [], []
        for line, row in enumerate(rows[1:], 2):
            try:
                index, t, p, c = int(row[0]), int(row[1]), int(row[2]), float(row[5])
            except (ValueError, IndexError):
                index = t = p = -1
                c = 0.0
            if index != line - 2 or not (0 <= t < classes and 0 <= p < classes and 0 <= c <= 1):
                raise RecordError(f"{self.predictions_path} is unreadable at line {line}: expected image "
                                  f"{line - 2:,} with classes 0-{classes - 1} and a confidence from 0 to 1.")
            true.append(t)
            predicted.append(p)
            confidence.append(c)
        return true, predicted, confidence

    def replay_epochs(self, epochs: int, before: int, best_by: str) -> list[EpochEnded]:
        """The recorded epochs up to ``before`` as the events that reported them, for a view of a
        resumed run that should show its whole history (``epochs``: the run's planned total; ``best_by``:
        its ``select``)."""
        return replay_epochs([row for row in self.read_history() if row["epoch"] < before], epochs, best_by)

    def load_state(self) -> dict[str, Any]:
        state = torch_load(self.state_path, "training state",
                            "Only the best weights remain (best.pt, for fmtui eval); start a new run instead.")
        if state.get("format") != STATE_FORMAT:
            raise RecordError(f"{self.state_path} is not an fmtui training state.")
        if state.get("version") == 1:
            state = schema.upgrade_state(state, self.state_path)
        elif state.get("version") != STATE_VERSION:
            raise RecordError(f"{self.state_path} was written by an incompatible fmtui (training state version "
                              f"{state.get('version')!r:.20}, this fmtui reads 1 and {STATE_VERSION}); start a new "
                              f"run instead.")
        return schema.check_state(state, self.state_path)


def replay_epochs(history: list[dict[str, Any]], epochs: int, best_by: str) -> list[EpochEnded]:
    """metrics.jsonl's rows (checked) as the EpochEnded events that reported them (``epochs``: planned;
    ``best_by``: the run's ``select``, "loss" for anything else)."""
    best_by = "accuracy" if best_by == "accuracy" else "loss"
    events, best, best_loss, best_accuracy, elapsed = [], 0, float("inf"), None, 0.0
    for row in history:
        if improves(best_by, row["val_loss"], row["val_accuracy"], best_loss, best_accuracy):  # the trainer's rule
            best, best_loss, best_accuracy = row["epoch"], row["val_loss"], row["val_accuracy"]
        elapsed += row["seconds"]
        fields = {key: row[key] for key in HISTORY_FIELDS}
        events.append(EpochEnded(epochs=epochs, best_epoch=best, elapsed_seconds=elapsed, best_by=best_by,
                                 **fields))
    return events


def new_summary(record: RunRecord, config: TrainConfig, started: datetime, device: str,
                parameters: int, data_dir: str | None = None) -> Summary:
    """A new run's summary, as its directory is made (``data_dir``: where its data was read from)."""
    return Summary(run_id=record.run_id, preset=config.preset, model=config.model, status=RunStatus.RUNNING,
                   epochs=0, epochs_planned=config.epochs, best_epoch=None, best_val_accuracy=None,
                   best_val_loss=None, test_accuracy=None, test_loss=None,
                   started_at=started.isoformat(timespec="seconds"), ended_at=None, duration_seconds=0.0,
                   device=device, parameters=parameters, seed=config.seed, pid=os.getpid(),
                   host=socket.gethostname(), error=None, data_dir=data_dir)


def prediction(index: int, evaluation: Any, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Test image ``index`` as predictions.csv lists it (``evaluation``: an Evaluation of the test split)."""
    true, predicted = int(evaluation.labels[index]), int(evaluation.predictions[index])
    return {"index": int(index), "true": true, "predicted": predicted, "true_name": class_names[true],
            "predicted_name": class_names[predicted], "confidence": round(float(evaluation.confidences[index]), 4)}
