"""A scripted stand-in for fmtui.core.engine.trainer.Trainer, and scripts of events, for driving the TUI in tests.

The fake delivers its events through core's real EventBus on its own thread, as the real trainer
does, so the app's thread boundary is exercised; only the training is missing.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from dataclasses import dataclass

import numpy as np

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.engine.bus import EventBus
from fmtui.core.engine.events import (
    BatchEnded,
    DataLoaded,
    EpochEnded,
    Evaluated,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    StopRequested,
    TestStarted,
)

HOLD = object()  # in a script: wait here until stopped, like a long epoch in progress


# Where each class's mistakes go, as on the real data: shirts pass for T-shirts, coats for pullovers.
LOOK_ALIKE = {0: 6, 1: 3, 2: 4, 3: 0, 4: 2, 5: 7, 6: 0, 7: 9, 8: 6, 9: 7}


def confusion(accuracy: float, per_class: int = 500) -> tuple[tuple[int, ...], ...]:
    """A fixed confusion matrix: Shirt is the hardest class and Shirt → T-shirt/top the worst pair."""
    rows = []
    for true in range(10):
        right = round(per_class * (accuracy - (0.15 if true == 6 else 0.0)))
        row = [0] * 10
        row[true] = right
        row[LOOK_ALIKE[true]] = per_class - right
        rows.append(tuple(row))
    return tuple(rows)


PER_CLASS = 500  # images of each class in the fake validation and test splits, in class order


def evaluated(split: str, epoch: int, accuracy: float) -> Evaluated:
    """An evaluation whose per-image predictions make up its matrix: in each class the first images are
    right, the rest taken for the look-alike; confidences are fixed, varied, and depend on the epoch."""
    cm = confusion(accuracy, PER_CLASS)
    recall = tuple(cm[i][i] / sum(cm[i]) for i in range(10))
    precision = tuple(cm[i][i] / max(1, sum(row[i] for row in cm)) for i in range(10))
    f1 = tuple(2 * p * r / (p + r) if p + r else 0.0 for p, r in zip(precision, recall))
    predictions, confidences = [], []
    for true in range(10):
        for n in range(PER_CLASS):
            predictions.append(true if n < cm[true][true] else LOOK_ALIKE[true])
            confidences.append(round(0.35 + 0.6 * ((n * 37 + epoch * 11) % 100) / 100, 4))
    return Evaluated(split, epoch, accuracy, 0.5, cm, precision, recall, CLASS_NAMES, f1, tuple(predictions),
                     tuple(confidences))


@functools.cache
def fake_pixels() -> tuple[np.ndarray, np.ndarray]:
    """PER_CLASS images of each class, in class order: flat silhouettes a person can tell apart (a
    T-shirt has short sleeves, a shirt long ones and a placket), each a little brighter than the last."""
    shapes = np.zeros((10, 28, 28), dtype=np.float32)
    shapes[0, 5:25, 9:19] = shapes[0, 5:10, 3:25] = 1  # T-shirt: body, short sleeves
    shapes[1, 3:26, 8:13] = shapes[1, 3:26, 15:20] = shapes[1, 3:7, 8:20] = 1  # trousers
    shapes[2, 5:25, 9:19] = shapes[2, 5:23, 4:9] = shapes[2, 5:23, 19:24] = 0.9  # pullover
    shapes[3, 3:26, 10:18] = shapes[3, 14:26, 7:21] = 1  # dress
    shapes[4, 3:26, 8:20] = shapes[4, 3:25, 4:8] = shapes[4, 3:25, 20:24] = 0.8  # coat
    shapes[5, 18:23, 2:26] = shapes[5, 14:18, 4:8] = shapes[5, 14:18, 12:16] = shapes[5, 14:18, 20:24] = 1
    shapes[6] = shapes[2]
    shapes[6, 5:25, 13:15] = 0.3  # shirt: long sleeves and a button placket
    shapes[7, 15:22, 2:26] = shapes[7, 11:15, 12:26] = 1  # sneaker
    shapes[8, 9:25, 4:24] = 1
    shapes[8, 4:9, 9:19] = 0.6
    shapes[8, 5:9, 11:17] = 0  # bag with a handle
    shapes[9, 6:24, 14:24] = shapes[9, 18:24, 4:24] = 1  # ankle boot
    labels = np.repeat(np.arange(10), PER_CLASS)
    brightness = 0.55 + 0.45 * (np.arange(len(labels)) % PER_CLASS) / PER_CLASS
    images = (shapes[labels] * brightness[:, None, None] * 255).round().astype(np.uint8)
    images.flags.writeable = False
    return images, labels


def data_loaded() -> DataLoaded:
    images, labels = fake_pixels()
    return DataLoaded(images, labels, images, labels)


def run_script(config: TrainConfig, *, epochs_done: int, batches: int = 20, batches_in_progress: int = 0,
               hold: bool = True, start_acc: float = 0.78, gain: float = 0.02) -> list:
    """Events of a run that has completed ``epochs_done`` epochs, then either holds or finishes."""
    seconds_per_epoch = 12.0
    events: list = [RunStarted(
        run_id=f"fake-{config.preset}", run_dir=f"/runs/fake-{config.preset}", preset=config.preset,
        model=config.model, config=config.to_dict(), model_summary="", parameters=7850 if config.model == "linear"
        else 421_642, device="cpu (2 threads)", epochs=config.epochs, first_epoch=1, batches_per_epoch=batches,
        train_size=55_000, val_size=5_000, test_size=10_000, class_names=CLASS_NAMES), data_loaded()]

    def batch_events(epoch: int, upto: int) -> list:
        out = []
        for b in range(1, upto + 1):
            elapsed = (epoch - 1) * seconds_per_epoch + b * seconds_per_epoch / batches
            done = (epoch - 1) * batches + b
            eta = elapsed / done * (config.epochs * batches - done)
            out.append(BatchEnded(epoch, config.epochs, b, batches, 0.9 / epoch + 0.3 * ((b * 7) % 5) / 10,
                                  4600.0, elapsed, eta))
        return out

    acc = start_acc
    for epoch in range(1, epochs_done + 1):
        events += batch_events(epoch, batches)
        acc = start_acc + gain * (epoch - 1) ** 0.5  # rises fast, then flattens, like real runs
        events.append(EpochEnded(epoch, config.epochs, train_loss=0.8 / epoch + 0.3, train_accuracy=acc - 0.01,
                                 val_loss=0.5 / epoch + 0.45, val_accuracy=acc, lr=config.lr / epoch,
                                 seconds=seconds_per_epoch, images_per_second=4600.0, best_epoch=epoch,
                                 elapsed_seconds=epoch * seconds_per_epoch, best_by=config.select))
        events.append(evaluated("validation", epoch, acc))
    if hold:
        events += batch_events(epochs_done + 1, batches_in_progress)
        events.append(HOLD)
    else:
        events += finish(config, "finished", epochs_done, acc, epochs_done * seconds_per_epoch)
    return events


def finish(config: TrainConfig, status: str, epochs_done: int, acc: float, seconds: float) -> list:
    if not epochs_done:
        return [RunFinished(status, 0, None, None, None, None, seconds, f"/runs/fake-{config.preset}")]
    return [TestStarted(epochs_done, 10_000), evaluated("test", epochs_done, acc - 0.005),
            RunFinished(status, epochs_done, epochs_done, acc, acc - 0.005, 0.4, seconds,
                        f"/runs/fake-{config.preset}")]


@dataclass
class FakeOutcome:
    status: str


class FakeTrainer:
    """Plays ``script`` on a worker thread; at HOLD it waits until stop(), then plays the ending."""

    def __init__(self, config: TrainConfig, script: list, ending_seconds: float = 0.0) -> None:
        self.config = config
        self.ending_seconds = ending_seconds  # how long "testing the best weights" takes after a stop
        self.script = script
        self.bus = EventBus()
        self.started = False
        self._stop = threading.Event()
        self.stop_reason = "stopped"
        self._paused = False
        self._thread: threading.Thread | None = None
        self.epochs_done = sum(1 for e in script if isinstance(e, EpochEnded))

    def subscribe(self, subscriber) -> None:
        self.bus.subscribe(subscriber)

    def start(self) -> None:
        self.started = True
        self._thread = threading.Thread(target=self._play, daemon=True)
        self._thread.start()

    def _play(self) -> None:
        for item in self.script:
            if item is HOLD:
                self._stop.wait()
                time.sleep(self.ending_seconds)
                acc = next((e.val_accuracy for e in reversed(self.script) if isinstance(e, EpochEnded)), 0.0)
                for event in finish(self.config, self.stop_reason, self.epochs_done, acc, 99.0):
                    self.bus.publish(event)
                return
            self.bus.publish(item)

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            self.bus.publish(Paused(self.epochs_done + 1, 3))

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self.bus.publish(Resumed(self.epochs_done + 1, 3))

    def stop(self, reason: str = "stopped") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._paused = False
            self.bus.publish(StopRequested(reason))
            self._stop.set()

    def hurry(self) -> bool:
        self.ending_seconds = 0.0
        self.stop("interrupted")
        return False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None):
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return None
        self.bus.close()
        return FakeOutcome(self.stop_reason)


def failing_script(message: str = "FashionMNIST is not in /nowhere and could not be downloaded.") -> list:
    return [RunFailed(message, True, None)]


def drive(test):
    """Run an async test on a fresh event loop, so no asyncio plugin for pytest is needed."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run
