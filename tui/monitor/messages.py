"""The one message that crosses the thread boundary: a core event, tagged with the run it came from."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message
from textual.message_pump import MessagePump

from fmtui.core.engine.events import BatchEnded, Event


class RunEvent(Message):
    """Event ``event`` of run number ``run`` (runs are numbered from 1 since the app opened)."""

    def __init__(self, run: int, event: Event) -> None:
        super().__init__()
        self.run = run
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # Batch progress of the same run may supersede one the app has not handled yet: when the UI
        # falls behind it shows the newest progress instead of working through a backlog.
        # Exactly BatchEnded: a replayed backlog (fmtui.tui.monitor.remote.ReplayedBatch) is shown whole.
        return (type(self.event) is BatchEnded and isinstance(message, RunEvent)
                and message.run == self.run and type(message.event) is BatchEnded)


def forward_to(target: MessagePump, run: int) -> Callable[[Event], None]:
    """A trainer subscriber that posts each event to ``target``; safe on the bus thread, never blocks."""

    def forward(event: Event) -> None:
        target.post_message(RunEvent(run, event))

    return forward
