"""Run records written by hand, without training: for tests that damage them or list them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fmtui.core.config.settings import TrainConfig
from fmtui.core.records.run_dir import RunRecord, new_summary

CONFIG = replace(TrainConfig(), preset="tiny", model="linear", epochs=3, device="cpu")


def history_row(epoch: int) -> dict[str, Any]:
    return {"epoch": epoch, "train_loss": 0.5 / epoch, "train_accuracy": 0.8, "val_loss": 0.4 / epoch,
            "val_accuracy": 0.8 + epoch / 100, "lr": 0.01, "seconds": 1.5, "images_per_second": 1000.0}


def good_summary(record: RunRecord, config: TrainConfig = CONFIG, **changes: Any) -> dict[str, Any]:
    summary = new_summary(record, config, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "cpu", 7850).to_json()
    summary.update(status="finished", epochs=2, best_epoch=2, best_val_accuracy=0.82, best_val_loss=0.2,
                   test_accuracy=0.81, test_loss=0.3, ended_at="2026-01-02T03:05:00+00:00", duration_seconds=3.0)
    summary.update(changes)
    return summary


def write_record(run_dir: Path, summary: Any = None, history: list[Any] | None = None,
                 config: TrainConfig = CONFIG, **changes: Any) -> RunRecord:
    """A run directory holding ``summary`` and ``history`` exactly as given (the good ones by default),
    written as raw JSON: no check stands between the test and the file."""
    record = RunRecord(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = good_summary(record, config, **changes) if summary is None else summary
    history = [history_row(1), history_row(2)] if history is None else history
    record.summary_path.write_text(json.dumps(summary))
    record.jsonl_path.write_text("".join(json.dumps(row) + "\n" for row in history))
    record.config_path.write_text(json.dumps(config.to_dict()))
    return record
