"""The engine and the command line run without the monitor; the monitor's first screen without torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import fmtui.core
import fmtui.tui

ROOT = Path(__file__).resolve().parents[2]


def _modules(package) -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}."))


CORE_MODULES = _modules(fmtui.core)
# The command line and the modules both faces share: everything in tui except the monitor.
CLI_MODULES = [m for m in _modules(fmtui.tui) if not m.startswith("fmtui.tui.monitor")]


def _loaded_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    dotted = tuple(p + "." for p in prefixes)
    probe = (f"import sys; {statement}; "
             f"print(','.join(sorted(m for m in sys.modules if (m + '.').startswith({dotted!r}))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_textual(module):
    """Each core module, imported alone in a fresh interpreter, leaves textual and fmtui.tui out of sys.modules."""
    assert _loaded_after(f"import {module}", ("textual", "fmtui.tui", "textual_plotext")) == []


@pytest.mark.parametrize("module", [m for m in CLI_MODULES if m != "fmtui.tui.cli.__main__"])
def test_command_line_module_imports_without_textual(module):
    """Each command-line module (and what both faces share), imported alone, leaves Textual out of sys.modules."""
    assert _loaded_after(f"import {module}", ("textual", "textual_plotext", "textual_image")) == []


def test_the_whole_command_line_loads_without_the_monitor_or_torch():
    """Loading every command, as `fmtui --help` does, imports neither Textual, the monitor nor torch."""
    loaded = _loaded_after("import fmtui.tui.cli", ("textual", "torch", "fmtui.tui"))
    assert "fmtui.tui.cli.commands.train" in loaded, "the commands were loaded"
    assert [m for m in loaded if m.startswith(("textual", "torch", "fmtui.tui.monitor"))] == []


def test_the_monitor_shows_its_first_screen_without_torch():
    """The preset menu (the first screen of `fmtui`) is drawn before torch is imported."""
    statement = ("import asyncio; from fmtui.tui.monitor.launch import make_app; "
                 "from fmtui.tui.monitor.screens.preset_menu import PresetMenu; app = make_app(); "
                 "exec('async def go():\\n async with app.run_test(size=(80, 24)) as pilot:\\n"
                 "  await pilot.pause(0.5)\\n  assert isinstance(app.screen, PresetMenu), app.screen'); "
                 "asyncio.run(go())")
    assert _loaded_after(statement, ("torch", "torchvision")) == []
