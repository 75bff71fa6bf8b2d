"""Run records: one directory per run, every file written atomically.

    runs/<started>-<preset>/
        config.json             the resolved configuration
        metrics.jsonl, .csv     one row per completed epoch
        confusion_matrix.csv    on the test split, with the best weights
        predictions.csv         each test image's true and predicted class and confidence (same weights)
        summary.json            preset, status, best_epoch, test_accuracy, epochs, ...
        best.pt                 best weights (by validation loss) and their config: `fmtui eval` reads it
        last.pt                 full training state after the last complete epoch: `--resume` reads it

A file is written to a temporary name beside it, flushed to disk, then renamed over the old one,
so a process killed at any moment leaves every file either as it was or as it was meant to be.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.config import TrainConfig
from core.errors import ConfigError, RecordError
from core.events import EpochEnded

if TYPE_CHECKING:
    import torch

# torch is imported where checkpoints are read or written: listing and comparing runs (and the TUI's
# first screen) should not wait for it.

CHECKPOINT_FORMAT = "fmtui-checkpoint"
STATE_FORMAT = "fmtui-training-state"
FORMAT_VERSION = 1
HISTORY_FIELDS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds",
                  "images_per_second")


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file and a rename; never leaves a partial file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RecordError(f"cannot write {path}: {exc.strerror or exc}. Free some space or choose another "
                          f"directory with --runs-dir.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise RecordError(f"{path} cannot be read: {exc}.") from None


def _csv_text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


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
                path.mkdir()
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
        atomic_write_text(self.jsonl_path, "".join(json.dumps(row) + "\n" for row in history))
        rows = [list(HISTORY_FIELDS)] + [[row[k] for k in HISTORY_FIELDS] for row in history]
        atomic_write_text(self.csv_path, _csv_text(rows))

    def write_confusion(self, confusion: Any, class_names: tuple[str, ...]) -> None:
        rows = [["true \\ predicted", *class_names]]
        rows += [[name, *map(int, row)] for name, row in zip(class_names, confusion)]
        atomic_write_text(self.confusion_path, _csv_text(rows))

    def write_predictions(self, evaluation: Any, class_names: tuple[str, ...]) -> None:
        """One row per test image, in file order, for other tools: it agrees with confusion_matrix.csv."""
        rows = [["index", "true", "predicted", "true_name", "predicted_name", "confidence"]]
        rows += [[i, int(t), int(p), class_names[t], class_names[p], f"{c:.4f}"]
                 for i, (t, p, c) in enumerate(zip(evaluation.labels, evaluation.predictions, evaluation.confidences))]
        atomic_write_text(self.predictions_path, _csv_text(rows))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.summary_path, summary)

    def save_best(self, checkpoint: dict[str, Any]) -> None:
        _save_torch(self.best_path, checkpoint)

    def save_state(self, state: dict[str, Any]) -> None:
        _save_torch(self.state_path, state)

    def remove_stale_temporaries(self) -> None:
        """Delete temporary files a killed process left mid-write (the records themselves are whole)."""
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # --- reading -------------------------------------------------------------------------------

    def read_summary(self) -> dict[str, Any]:
        return read_json(self.summary_path)

    def read_config(self) -> TrainConfig:
        values = read_json(self.config_path)
        try:
            return TrainConfig.from_dict(values, str(self.config_path))
        except ConfigError as exc:
            raise RecordError(str(exc)) from None

    def read_history(self) -> list[dict[str, Any]]:
        if not self.jsonl_path.exists():
            return []
        try:
            return [json.loads(line) for line in self.jsonl_path.read_text().splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            raise RecordError(f"{self.jsonl_path} cannot be read: {exc}.") from None

    def replay_epochs(self, epochs: int, before: int) -> list[EpochEnded]:
        """The recorded epochs up to ``before`` as the events that reported them, for a view of a
        resumed run that should show its whole history (``epochs``: the run's planned total)."""
        events, best, best_loss, elapsed = [], 0, float("inf"), 0.0
        try:
            for row in self.read_history():
                if row["epoch"] >= before:
                    break
                if row["val_loss"] < best_loss:  # the trainer's own rule: strictly lower validation loss
                    best, best_loss = row["epoch"], row["val_loss"]
                elapsed += row["seconds"]
                fields = {key: row[key] for key in ("epoch", "train_loss", "train_accuracy", "val_loss",
                                                    "val_accuracy", "lr", "seconds", "images_per_second")}
                events.append(EpochEnded(epochs=epochs, best_epoch=best, elapsed_seconds=elapsed, **fields))
        except (KeyError, TypeError) as exc:
            raise RecordError(f"{self.jsonl_path} lacks a field fmtui writes ({exc}).") from None
        return events

    def load_state(self) -> dict[str, Any]:
        state = _torch_load(self.state_path, "training state",
                            "Only the best weights remain (best.pt, for fmtui eval); start a new run instead.")
        if state.get("format") != STATE_FORMAT:
            raise RecordError(f"{self.state_path} is not an fmtui training state.")
        return state


def new_summary(record: RunRecord, config: TrainConfig, started: datetime, device: str,
                parameters: int) -> dict[str, Any]:
    return {
        "run_id": record.run_id, "preset": config.preset, "model": config.model, "status": "running",
        "epochs": 0, "epochs_planned": config.epochs, "best_epoch": None, "best_val_accuracy": None,
        "best_val_loss": None, "test_accuracy": None, "test_loss": None,
        "started_at": started.isoformat(timespec="seconds"), "ended_at": None, "duration_seconds": 0.0,
        "device": device, "parameters": parameters, "seed": config.seed,
        "pid": os.getpid(), "host": socket.gethostname(), "error": None,
    }


def effective_status(summary: dict[str, Any]) -> str:
    """The recorded status, except that a 'running' run whose process is gone was killed."""
    status = summary.get("status", "unknown")
    if status == "running" and summary.get("host") == socket.gethostname():
        try:
            os.kill(int(summary["pid"]), 0)
        except ProcessLookupError:
            return "killed"
        except (OSError, KeyError, TypeError, ValueError):
            pass
    return status


def run_summary(record: RunRecord) -> dict[str, Any]:
    """A run's summary with its effective status, or status 'unreadable' and the error, for listing runs."""
    try:
        summary = record.read_summary()
    except RecordError as exc:
        return {"status": "unreadable", "error": str(exc)}
    return {**summary, "status": effective_status(summary)}


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Run directories under ``runs_dir`` (those holding a summary.json), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RecordError(f"the runs directory {runs_dir} does not exist; pass the one your runs went to "
                          f"with --runs-dir.")
    return sorted((RunRecord(p) for p in runs_dir.iterdir() if (p / "summary.json").is_file()),
                  key=lambda r: r.run_id)


def open_run(path: Path) -> RunRecord:
    """A run directory named by a person; the error says what is wrong with it."""
    record = RunRecord(Path(path))
    if not record.path.is_dir():
        raise RecordError(f"{path}: no such run directory.")
    if not record.summary_path.is_file():
        raise RecordError(f"{path}: not an fmtui run directory (it has no summary.json).")
    return record


# --- checkpoints ---------------------------------------------------------------------------------

def make_checkpoint(config: TrainConfig, state_dict: dict[str, torch.Tensor], epoch: int,
                    val_loss: float, val_accuracy: float) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "version": FORMAT_VERSION, "config": config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in state_dict.items()},
            "epoch": epoch, "val_loss": val_loss, "val_accuracy": val_accuracy}


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    config: TrainConfig
    state_dict: dict[str, torch.Tensor]
    epoch: int


CHECKPOINT_HINT = "Each run directory holds its best.pt; `fmtui runs` lists the runs."


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a ``best.pt`` (or a run directory holding one), checking that it is fmtui's."""
    path = Path(path)
    if path.is_dir():
        path = RunRecord(path).best_path
    raw = _torch_load(path, "checkpoint", CHECKPOINT_HINT)
    if raw.get("format") != CHECKPOINT_FORMAT or not isinstance(raw.get("model"), dict):
        raise RecordError(f"{path} is not an fmtui checkpoint. {CHECKPOINT_HINT}")
    if raw.get("version") != FORMAT_VERSION:
        raise RecordError(f"{path} was written by an incompatible fmtui (checkpoint version "
                          f"{raw.get('version')}, this fmtui reads {FORMAT_VERSION}).")
    try:
        config = TrainConfig.from_dict(raw["config"], f"{path} (config)")
    except ConfigError as exc:
        raise RecordError(f"{exc} The checkpoint does not match this fmtui.") from None
    return Checkpoint(path, config, raw["model"], int(raw.get("epoch", 0)))


def _save_torch(path: Path, obj: dict[str, Any]) -> None:
    import torch

    atomic_write(path, lambda f: torch.save(obj, f))


def _torch_load(path: Path, what: str, hint: str) -> dict[str, Any]:
    """Read a torch file written by fmtui; ``hint`` tells a person where the right file is."""
    import torch

    if not path.exists():
        raise RecordError(f"{what} {path} does not exist. {hint}")
    try:
        # weights_only: a checkpoint is data, never code to run.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a damaged file
        # PyTorch's own message is long and about its loader; --debug shows it, chained.
        raise RecordError(f"{path} is not a readable {what}: it is damaged or was not written by fmtui. "
                          f"{hint}") from exc
    if not isinstance(obj, dict):
        raise RecordError(f"{path} is not an fmtui {what}. {hint}")
    return obj
