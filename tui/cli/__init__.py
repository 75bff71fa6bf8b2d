"""The `fmtui` command: the monitor by default, and headless commands for scripts.

Each command is one module in ``tui.cli.commands`` that registers itself on ``tui.cli.app.app``;
adding a command is adding a module there. Command modules import what is heavy (torch, Textual)
inside the command, so `fmtui --help` and `fmtui runs` start at once.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from tui.cli import commands
from tui.cli.app import app

for _module in pkgutil.iter_modules(commands.__path__):
    importlib.import_module(f"{commands.__name__}.{_module.name}")


def main() -> Any:
    return app(prog_name="fmtui")


__all__ = ["app", "main"]
