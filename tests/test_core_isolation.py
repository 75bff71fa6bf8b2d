"""The engine runs without the TUI: importing any core module never loads Textual or tui."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import core

CORE_MODULES = sorted(f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__))


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_textual(module):
    """Each core module, imported alone in a fresh interpreter, leaves textual and tui out of sys.modules."""
    probe = (f"import sys, {module}; "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui', 'textual_plotext')); "
             "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} pulls in {result.stdout.strip()}"
