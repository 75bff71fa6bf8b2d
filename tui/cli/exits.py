"""Exit codes, the same for every command and for the monitor.

0 a run finished or was stopped (or a command did its job), 1 an internal error (a bug), 2 bad input
(a message names the file or flag), 3 the run diverged, 128+N a signal N ended the run.
"""

from __future__ import annotations

OK, BUG, USAGE, DIVERGED = 0, 1, 2, 3

# A run's final status as the exit code of the process that ran it; "interrupted" is 128+N instead.
BY_STATUS = {"finished": OK, "stopped": OK, "diverged": DIVERGED}


def after_signal(signum: int) -> int:
    return 128 + signum
