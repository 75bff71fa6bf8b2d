"""The `fmtui` command: the monitor by default, and headless commands for scripts.

Each command is one module in ``fmtui.tui.cli.commands`` that registers itself on ``fmtui.tui.cli.app.app``;
adding a command is adding a module there. Command modules import what is heavy (torch, Textual)
inside the command, so `fmtui --help` and `fmtui runs` start at once.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

from fmtui.tui.cli import commands
from fmtui.tui.cli.app import app
from fmtui.tui.cli.signals import exit_on_signals, leave_now
from fmtui.tui.cli.streams import reopen_closed_streams, write_quietly

for _module in pkgutil.iter_modules(commands.__path__):
    importlib.import_module(f"{commands.__name__}.{_module.name}")


def main() -> Any:
    reopen_closed_streams()  # first: before any file is opened, so no record can take descriptor 2
    exit_on_signals()  # until a run installs its own handlers, a signal just ends the process with 128+N
    try:
        app(prog_name="fmtui")
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):
        if code is not None:
            write_quietly(sys.stderr, f"{code}\n")
        code = 0 if code is None else 1
    # The record is complete and the exit code decided. The interpreter's own shutdown would reset the
    # signal handlers to their defaults (a second Ctrl-C arriving then killed the process with the
    # signal itself) and could meet a thread still inside torch; there is nothing left for it to do.
    leave_now(code)


__all__ = ["app", "main"]
