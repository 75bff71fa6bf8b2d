"""The escape sequence that asks a terminal for a desktop notification, for the end of a run.

Kept apart from the app (and free of Textual) so the sequence can be checked without a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping


def _clean(text: str) -> str:
    # No control characters (they would end the sequence early) and no ';' (OSC 777's field separator).
    return "".join(ch for ch in text if ch.isprintable()).replace(";", ",")


def desktop_notification(title: str, body: str, environ: Mapping[str, str]) -> str:
    """OSC 777 (notify) for the terminals known to read it (VTE ones such as GNOME Terminal, foot, urxvt),
    OSC 9 for the rest (iTerm2, kitty, WezTerm, Ghostty, Windows Terminal); a terminal that knows neither
    ignores it. Inside tmux it is wrapped for passthrough: shown where tmux's allow-passthrough is on,
    dropped by tmux otherwise (the bell, rung beside it, still reaches the outer terminal)."""
    term = environ.get("TERM", "")
    if environ.get("VTE_VERSION") or term.startswith(("foot", "rxvt")):
        sequence = f"\x1b]777;notify;{_clean(title)};{_clean(body)}\a"
    else:
        sequence = f"\x1b]9;{_clean(title)}: {_clean(body)}\a"
    if environ.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence
