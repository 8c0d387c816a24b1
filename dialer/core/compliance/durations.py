"""Small value parsers shared by the rules table and campaign keys."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

_DURATION = re.compile(r"^(\d+)(m|h|d)$")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ValueFormatError(ValueError):
    """A value does not match its format; the caller adds the key path."""


def parse_duration(text: object) -> timedelta:
    """``90m``, ``24h``, ``7d`` -> timedelta (positive)."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None or int(m.group(1)) == 0:
        raise ValueFormatError(f"expected a duration like 90m, 24h or 7d, got {text!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def parse_hhmm(text: object) -> time | None:
    """``HH:MM`` -> time; ``24:00`` (end of day) -> None."""
    m = _HHMM.match(text) if isinstance(text, str) else None
    if m is None or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueFormatError(f"expected a time HH:MM, got {text!r}")
    if m.group(1) == "24":
        return None
    return time(int(m.group(1)), int(m.group(2)))


def parse_weekday(text: object) -> int:
    """``mon`` .. ``sun`` -> 0 .. 6."""
    key = text.lower()[:3] if isinstance(text, str) else ""
    if key not in WEEKDAYS:
        raise ValueFormatError(f"expected a weekday (mon..sun), got {text!r}")
    return WEEKDAYS.index(key)


def parse_date(text: object) -> date:
    """``YYYY-MM-DD`` (YAML may already have made it a date)."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text) if isinstance(text, str) else date.fromisoformat("")
    except ValueError:
        raise ValueFormatError(f"expected a date YYYY-MM-DD, got {text!r}") from None
