"""Exit codes, the same for every command and for the monitor.

0 a run finished or was stopped (or a command did its job), 1 an internal error (a bug), 2 bad input
(a message names the file or flag), 3 the run diverged, 128+N a signal N ended the run.
"""

from __future__ import annotations

from fmtui.core.records.status import RunStatus

OK, BUG, USAGE, DIVERGED = 0, 1, 2, 3

# A run's final status as the exit code of the process that ran it (a pruned run: one a sweep gave up).
BY_STATUS = {RunStatus.FINISHED: OK, RunStatus.STOPPED: OK, RunStatus.PRUNED: OK, RunStatus.DIVERGED: DIVERGED}
# The final statuses with no code of their own: an interrupted run exits 128+N for the signal N that
# ended it, a failed one by its error (USAGE for bad input or environment, BUG otherwise).
SIGNALLED = (RunStatus.INTERRUPTED,)
BY_ERROR = (RunStatus.FAILED,)


def after_signal(signum: int) -> int:
    return 128 + signum
