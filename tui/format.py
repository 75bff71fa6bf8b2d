"""Numbers formatted for people: percentages, durations, throughputs."""

from __future__ import annotations

import math


def percent(fraction: float | None, digits: int = 2) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "–"
    return f"{fraction * 100:.{digits}f}%"


def duration(seconds: float | None) -> str:
    """3.2 s, 4m 05s, 1h 02m."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def rate(per_second: float | None) -> str:
    if per_second is None or not math.isfinite(per_second):
        return "–"
    if per_second >= 10_000:
        return f"{per_second / 1000:,.0f}k img/s"
    return f"{per_second:,.0f} img/s"


def count(n: int, noun: str) -> str:
    """1 epoch, 2 epochs."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def loss(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if math.isfinite(value) else str(value)
