"""A past run opened in every view: the app's TrainerLike over a finished record, which sends once the
events the run sent (its start, its images, each epoch, its test, its end), so that the charts, the
confusion matrix, the history and the examples show it as they showed it live.

What the record does not keep is left out rather than made up: batch progress, and the validation
split's predictions (the confusion matrix and examples show the test split, from predictions.csv).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from fmtui.core.config.settings import TrainConfig
from fmtui.core.data.fashion_mnist import CLASS_NAMES
from fmtui.core.engine.events import DataUnavailable, Event, RunFailed, RunFinished, RunStarted, Subscriber
from fmtui.core.errors import FmtuiError
from fmtui.core.records.run_dir import RunRecord, replay_epochs
from fmtui.core.records.status import RunStatus
from fmtui.core.records.summary import Summary


class RecordedTrainer:
    """A past run, replayed from its record off the UI thread (reading the images takes a second): ``start``
    hands the replay to ``run_off_screen``, which the app makes a Textual thread worker."""

    attached = True  # nothing of it runs in this process: leaving the monitor leaves nothing behind
    replayed = True  # its end is no news: the app neither rings nor notifies

    def __init__(self, record: RunRecord, config: TrainConfig, summary: Summary, history: list[dict[str, Any]],
                 run_off_screen: Callable[[Callable[[], None]], object]) -> None:
        """``config``, ``summary`` and ``history``: the record's, read (and checked) by the caller."""
        self.record, self.config, self.summary, self.history = record, config, summary, history
        self.run_off_screen = run_off_screen
        self._subscribers: list[Subscriber] = []
        self._started = False
        self._done = threading.Event()

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def start(self) -> None:
        self._started = True
        self.run_off_screen(self._replay)

    def pause(self) -> bool:
        return False

    def resume(self) -> bool:
        return False

    def stop(self, reason: str = "stopped") -> bool:
        return False

    def hurry(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._started:
            self._done.wait(timeout)

    @property
    def paused(self) -> bool:
        return False

    @property
    def running(self) -> bool:
        return self._started and not self._done.is_set()

    def _publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    def _replay(self) -> None:
        try:
            self._send_events()
        except FmtuiError as exc:  # a record that changed since it was listed: said in the error panel
            self._publish(RunFailed(f"{self.record.path} cannot be shown: {exc}", True, str(self.record.path)))
        except Exception as exc:  # a bug: reported with its traceback once the app exits, as a run's would be
            self._publish(RunFailed(f"internal error: {exc!r}", False, str(self.record.path),
                                    traceback.format_exc()))
        finally:
            self._done.set()

    def _send_events(self) -> None:
        record, config, summary = self.record, self.config, self.summary
        self._publish(RunStarted(
            run_id=record.run_id, run_dir=str(record.path), preset=config.preset, model=config.model,
            config=config.to_dict(), model_summary=f"{config.model} (recorded)", parameters=summary.parameters,
            device=summary.device, epochs=summary.epochs_planned, first_epoch=1, batches_per_epoch=0,
            train_size=0, val_size=config.val_size, test_size=0, class_names=CLASS_NAMES))
        from fmtui.core.engine.reports import recorded_data  # late: torch loads with it

        self._publish(recorded_data(record.path, config))
        for event in replay_epochs(self.history, summary.epochs_planned, config.select):
            self._publish(event)
        test = self._test(summary.best_epoch, summary.test_loss)
        if test is not None:
            self._publish(test)
        self._publish(RunFinished(
            status=RunStatus(summary.status), epochs_completed=summary.epochs, best_epoch=summary.best_epoch,
            best_val_accuracy=summary.best_val_accuracy, test_accuracy=summary.test_accuracy,
            test_loss=summary.test_loss, seconds=summary.duration_seconds, run_dir=str(record.path)))


    def _test(self, best_epoch: int | None, loss: float | None) -> Event | None:
        """The test split's evaluation, from predictions.csv (none for a run that was not tested)."""
        from fmtui.core.engine.evaluation import evaluated_event
        from fmtui.core.engine.loop import Evaluation
        from fmtui.core.engine.metrics import classification_report

        if best_epoch is None or not self.record.predictions_path.exists():
            return None
        try:
            true, predicted, confidence = self.record.read_predictions(len(CLASS_NAMES))
        except FmtuiError as exc:
            return DataUnavailable(f"its test predictions cannot be shown: {exc}")
        labels, predictions = np.asarray(true), np.asarray(predicted)
        report = classification_report(labels, predictions, len(CLASS_NAMES))
        evaluation = Evaluation(loss=loss if loss is not None else float("nan"),
                                accuracy=report.accuracy, labels=labels, predictions=predictions,
                                confidences=np.asarray(confidence))
        return evaluated_event("test", best_epoch, evaluation, report)
