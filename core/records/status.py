"""A run's status: the one closed set that summary.json, the events, the exit codes and both faces use.

A record says ``running`` while its process trains it and, once it is over, how it ended. One more
status is never written: ``killed``, which a record shows when it says ``running`` but no process
holds its lock any more (fmtui.core.records.listing.effective_status). A record written on another
machine shows "running on HOST" instead, a description rather than a status: this machine cannot
see that run's lock.
"""

from __future__ import annotations

import enum


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # every epoch trained (or stopped early by patience), then tested
    STOPPED = "stopped"  # a person asked: the best weights are still tested
    PRUNED = "pruned"  # a sweep gave up on it as hopeless: not tested
    INTERRUPTED = "interrupted"  # a signal, or the monitor closing: not tested, resumable
    DIVERGED = "diverged"  # a NaN or infinite loss: the best weights so far are tested
    FAILED = "failed"  # an error, said in the record's ``error``
    KILLED = "killed"  # never written: 'running', with no process left to hold the lock

    @property
    def recorded(self) -> bool:
        """Whether summary.json may hold it."""
        return self is not RunStatus.KILLED

    @property
    def final(self) -> bool:
        """Whether a run in this process can end with it (an Outcome's status)."""
        return self not in (RunStatus.RUNNING, RunStatus.KILLED)

    @property
    def resumable(self) -> bool:
        """Whether `fmtui train --resume` may continue a run showing it (from its last complete epoch)."""
        return self in (RunStatus.INTERRUPTED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.KILLED)

    @property
    def tested(self) -> bool:
        """Whether a run ending so has its best weights scored on the test split: an interrupted run must
        let its process exit promptly, and a pruned one is not worth the time."""
        return self in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.DIVERGED)


RECORDED = tuple(status for status in RunStatus if status.recorded)
