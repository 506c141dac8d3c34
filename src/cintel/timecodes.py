"""Media time as people read it: ``m:ss`` clocks and subtitle timestamps.

One home for the formats the CLI, the web UI and the subtitle writers print, so a
moment reads the same everywhere.
"""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    """``m:ss``, or ``h:mm:ss`` past an hour; empty when the moment is unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock_span(start: float, end: float) -> str:
    """A span as ``m:ss`` to ``m:ss``, an en dash between; empty for untimed text."""
    return "" if start == end == 0 else f"{clock(start)}\u2013{clock(end)}"


def subtitle_timestamp(seconds: float, separator: str) -> str:
    """``hh:mm:ss.mmm`` (WebVTT, ``separator="."``) or ``hh:mm:ss,mmm`` (SRT, ``","``)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
