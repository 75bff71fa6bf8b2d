"""Kitty or Sixel graphics for the examples view's large picture, where the terminal has them.

textual-image (a maintained library for Textual) asks the terminal which protocol it speaks when it
is imported, and that works only before Textual takes the terminal over: the launcher calls
``graphics_widget()`` before the app runs. Asking costs a moment at start-up and, with a terminal that
does not answer, may swallow a key pressed meanwhile, so only terminals that announce themselves as
ones with a protocol are asked (FMTUI_GRAPHICS=ask asks any terminal, =blocks none).

Everything else, and every thumbnail, is drawn with half blocks (fmtui.tui.render.pictures), which is also the
answer (None) when: the output is not a terminal; inside tmux or screen (they pass neither protocol on
without passthrough); textual-image is missing; or the terminal answers with neither protocol.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from textual.widget import Widget

# How terminals with Kitty or Sixel graphics announce themselves in the environment.
GRAPHICS_TERMINALS = {"TERM_PROGRAM": ("WezTerm", "iTerm.app", "vscode", "ghostty", "mlterm"),
                      "TERM": ("xterm-kitty", "foot", "foot-extra", "mlterm", "contour", "xterm-ghostty")}
GRAPHICS_VARIABLES = ("KITTY_WINDOW_ID", "KONSOLE_VERSION", "WT_SESSION")


def may_have_graphics(environ: Mapping[str, str]) -> bool:
    """Whether this terminal is worth asking: it names itself as one with a graphics protocol."""
    choice = environ.get("FMTUI_GRAPHICS", "auto")
    if choice in ("blocks", "ask"):
        return choice == "ask"
    if environ.get("TMUX") or environ.get("TERM", "").startswith(("screen", "tmux")):
        return False
    return (any(environ.get(name) in values for name, values in GRAPHICS_TERMINALS.items())
            or any(environ.get(name) for name in GRAPHICS_VARIABLES))


def graphics_widget(environ: Mapping[str, str]) -> type[Widget] | None:
    """The textual-image widget class for this terminal's graphics protocol, or None for half blocks."""
    if not may_have_graphics(environ):
        return None
    if not (sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty()):
        return None
    try:
        from textual_image import renderable
        from textual_image.widget import SixelImage, TGPImage
    except Exception:  # not installed, or it could not talk to the terminal: half blocks do
        return None
    return {renderable.TGPImage: TGPImage, renderable.SixelImage: SixelImage}.get(renderable.Image)
