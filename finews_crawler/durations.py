"""Durations as operators type them (`90m`, `6h`, `2d`) and ages as people read them."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

#: Seconds in each unit a duration may be given in.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.I)


def parse_duration(text: str) -> timedelta:
    """`90m`, `6h`, `2d`, `1w`, `30s`, or bare seconds (`3600`) as a timedelta.

    Raises ValueError, saying what is accepted, for anything else (negative numbers included).
    """
    match = _DURATION.match(text or "")
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: give a number with a unit s, m, h, d or w (90m, 6h, 2d)"
        )
    number, unit = match.groups()
    return timedelta(seconds=float(number) * UNITS[(unit or "s").lower()])


def duration_arg(value: str) -> timedelta:
    """`parse_duration` as an argparse type: a bad duration is a usage error."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_age(age: timedelta) -> str:
    """A short age: `45s`, `12m`, `3h05m`, `2d04h`."""
    seconds = int(age.total_seconds())
    if seconds < 0:
        return f"-{format_age(-age)}"
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
