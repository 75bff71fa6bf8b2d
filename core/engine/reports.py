"""What a run reports of itself, built from its session: the events of its start, its batch progress, its
epochs and its end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
from fmtui.core.data.splits import make_splits, shared_pixels
from fmtui.core.engine.events import BatchEnded, DataLoaded, DataUnavailable, EpochEnded, RunFinished, RunStarted
from fmtui.core.engine.loop import uses_bf16
from fmtui.core.engine.session import Session
from fmtui.core.errors import FmtuiError
from fmtui.core.models import count_parameters
from fmtui.core.records.listing import data_dir_for
from fmtui.core.records.status import RunStatus
from fmtui.core.records.summary import Summary


def run_started(session: Session, run_id: str, run_dir: Path) -> RunStarted:
    config, splits = session.config, session.splits
    return RunStarted(
        run_id=run_id, run_dir=str(run_dir), preset=config.preset, model=config.model, config=config.to_dict(),
        model_summary=session.spec.summary(config), parameters=count_parameters(session.model),
        device=device_name(session.device, uses_bf16(session.device, config.cpu_precision, session.spec.channels_last)),
        epochs=config.epochs, first_epoch=session.progress.epoch + 1,
        batches_per_epoch=session.steps_per_epoch, train_size=len(splits.train), val_size=len(splits.val),
        test_size=len(splits.test), class_names=CLASS_NAMES)


def data_loaded(session: Session) -> DataLoaded:
    return DataLoaded(*shared_pixels(session.splits.val), *shared_pixels(session.splits.test))


def recorded_data(run_dir: Path, config: TrainConfig) -> DataLoaded | DataUnavailable:
    """The DataLoaded a run of ``config`` in ``run_dir`` sent, made again from the data it recorded (its log
    leaves the images out): the same validation split, drawn with the same seed, and the test file; or,
    where that data cannot be read here, DataUnavailable saying why."""
    try:
        data = load_fashion_mnist(data_dir_for(run_dir, None), download=False)
        splits = make_splits(data, val_size=config.val_size, train_subset=config.train_subset,
                             batch_size=config.batch_size, device=torch.device("cpu"))
    except (FmtuiError, OSError) as exc:
        return DataUnavailable(f"its images cannot be read here: {exc}")
    return DataLoaded(*shared_pixels(splits.val), *shared_pixels(splits.test))


def batch_ended(session: Session, epoch: int, batch: int, batches: int, loss: float, images: int,
                seconds: float) -> BatchEnded:
    """Progress within ``epoch``: ``seconds`` of training in it so far, over ``images`` images."""
    # Elapsed time covers every epoch since the run began (a resumed run's earlier ones too), so
    # the pace is taken over the same span.
    epochs, steps = session.config.epochs, session.steps_per_epoch
    elapsed = session.progress.elapsed + seconds
    done = (epoch - 1) * steps + batch
    eta = elapsed / done * (epochs * steps - done) if done else None
    return BatchEnded(epoch, epochs, batch, batches, loss, images / max(seconds, 1e-9), elapsed, eta)


def epoch_ended(session: Session, row: dict[str, Any]) -> EpochEnded:
    return EpochEnded(epochs=session.config.epochs, best_epoch=session.parts.best.epoch,
                      elapsed_seconds=session.progress.elapsed, best_by=session.config.select, **row)


def run_finished(session: Session, status: RunStatus, run_dir: Path | None, summary: Summary | None) -> RunFinished:
    """The run's end; ``summary``: its final one, or None where nothing was recorded (stopped while its
    data loaded)."""
    best = session.parts.best
    return RunFinished(status=status, epochs_completed=session.progress.epoch, best_epoch=best.epoch or None,
                       best_val_accuracy=best.val_accuracy, test_accuracy=summary.test_accuracy if summary else None,
                       test_loss=summary.test_loss if summary else None,
                       seconds=summary.duration_seconds if summary else 0.0,
                       run_dir=str(run_dir) if run_dir is not None else None)


def device_name(device: torch.device, bf16: bool) -> str:
    """The device as the status line and the logs name it, the number format it computes in second, so that a
    status line cut at 80 columns still shows it: 'cpu bf16 (2 threads)'."""
    precision = "bf16" if bf16 else "fp32"
    if device.type == "cuda":
        return f"{device} {precision} ({torch.cuda.get_device_name(device)})"
    return f"cpu {precision} ({torch.get_num_threads()} threads)"
