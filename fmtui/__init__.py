"""fmtui: a terminal training monitor for FashionMNIST classifiers.

The one import name fmtui installs. Its parts live in the repository's top-level folders:
``fmtui.core`` is ``core/`` (the engine, never imports Textual), ``fmtui.tui`` is ``tui/`` (the command
line and the Textual monitor) and ``fmtui.presets`` is ``presets/`` (the shipped presets, package data).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fmtui")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
