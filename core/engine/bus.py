"""The event bus: the trainer's thread emits, a thread of the bus delivers to each subscriber in order,
so a slow display never holds up training; high-rate progress events are coalesced.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque

from fmtui.core.engine.events import Event, Subscriber


class EventBus:
    """Delivers events to subscribers, in order, on a dispatcher thread.

    ``publish`` never blocks: it appends to a queue. When subscribers fall behind, an undelivered
    event whose class sets ``coalesce`` is replaced by the next one of the same kind, so the queue
    stays short however fast the trainer reports progress.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._queue: deque[Event] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, event: Event) -> None:
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, name="fmtui-events", daemon=True)
                self._thread.start()
            if event.coalesce and self._queue and type(self._queue[-1]) is type(event):
                self._queue[-1] = event
            else:
                self._queue.append(event)
            self._ready.notify()

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued, then stop the dispatcher."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _dispatch(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                event = self._queue.popleft()
            for subscriber in self._subscribers:
                try:
                    subscriber(event)
                except Exception:  # one broken subscriber must not starve the others or the trainer
                    self.errors.append(traceback.format_exc())
