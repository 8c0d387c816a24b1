"""The rules table of a jurisdiction: data, shipped as ``rules_<region>.yaml``.

A table holds the country-wide rules (``base``) and each state's own (``states``). Calling
hours are per weekday; banned dates and weekdays, frequency caps and the abandonment
ceiling are plain values. ``parse_rules_table`` turns a mapping into a frozen table, so a
deployment can replace the packaged file from its own config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

from dialer.core.compliance.durations import (
    WEEKDAYS,
    ValueFormatError,
    parse_date,
    parse_duration,
    parse_hhmm,
    parse_weekday,
)
from dialer.core.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Window:
    """Calling hours of one day: ``start`` inclusive, ``end`` exclusive (None: midnight)."""

    start: time
    end: time | None

    def contains(self, t: time) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def narrower(self, other: Window | None) -> Window | None:
        """The intersection; None when a day has no hours left."""
        if other is None:
            return None
        start = max(self.start, other.start)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends) if ends else None
        return None if end is not None and end <= start else Window(start, end)

    def within(self, other: Window) -> bool:
        """True when every minute of self is also inside other."""
        return self.narrower(other) == self

    def render(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end is None else f'{self.end:%H:%M}'}"


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``max`` attempts to one number in any ``per`` period."""

    max: int
    per: timedelta

    def render(self) -> str:
        return f"{self.max} per {_render_td(self.per)}"


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    """``rolling`` over ``length``, or the current calendar ``day`` or ``month`` (UTC)."""

    kind: str
    length: timedelta | None = None

    def start(self, now: datetime) -> datetime:
        if self.kind == "rolling" and self.length is not None:
            return now - self.length
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return day if self.kind == "day" else day.replace(day=1)

    def longer_than(self, other: AbandonWindow) -> bool:
        return _window_span(self) > _window_span(other)


@dataclass(frozen=True, slots=True)
class LocalRules:
    """Rules of one place: hours per weekday (None: no calls), banned days, caps."""

    hours: tuple[Window | None, ...]
    banned_weekdays: frozenset[int] = frozenset()
    banned_dates: frozenset[date] = frozenset()
    frequency_caps: tuple[Cap, ...] = ()


@dataclass(frozen=True, slots=True)
class RulesTable:
    region: str
    base: LocalRules
    states: Mapping[str, LocalRules]
    abandon_target: float
    abandon_window: AbandonWindow
    abandon_cooldown: timedelta | None
    national_list_max_age: timedelta
    ebr_months: Mapping[str, int]

    def local(self, state: str | None) -> LocalRules | None:
        return self.states.get(state) if state else None


def _render_td(td: timedelta) -> str:
    secs = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs // 60}m"


def _window_span(w: AbandonWindow) -> timedelta:
    fixed = {"day": timedelta(days=1), "month": timedelta(days=31)}
    return w.length if w.length is not None else fixed[w.kind]


# ---- parsing -------------------------------------------------------------------------

_TABLE_KEYS = frozenset({
    "region", "calling_hours", "banned_weekdays", "banned_dates", "frequency_caps",
    "abandon_target", "abandon_window", "abandon_cooldown", "national_list_max_age",
    "ebr_months", "states",
})
_LOCAL_KEYS = frozenset({"calling_hours", "banned_weekdays", "banned_dates", "frequency_caps"})


def parse_rules_table(raw: Mapping[str, Any], where: str) -> RulesTable:
    """A rules table from its mapping; ConfigError names the key path of any fault."""
    reject_unknown(raw, _TABLE_KEYS, where)
    states = expect(raw.get("states", {}), Mapping, f"{where}.states", "a mapping")
    return RulesTable(
        region=expect(raw.get("region"), str, f"{where}.region", "a region code"),
        base=parse_local(raw, where, full_day=None),
        states={str(k): _parse_state(v, f"{where}.states.{k}") for k, v in states.items()},
        abandon_target=parse_ratio(raw.get("abandon_target"), f"{where}.abandon_target"),
        abandon_window=parse_abandon_window(raw.get("abandon_window"), f"{where}.abandon_window"),
        abandon_cooldown=_optional(raw.get("abandon_cooldown"), f"{where}.abandon_cooldown"),
        national_list_max_age=at(parse_duration, raw.get("national_list_max_age"),
                                 f"{where}.national_list_max_age"),
        ebr_months=_parse_ebr(raw.get("ebr_months", {}), f"{where}.ebr_months"),
    )


def _parse_state(raw: object, where: str) -> LocalRules:
    body = expect(raw, Mapping, where, "a mapping")
    reject_unknown(body, _LOCAL_KEYS, where)
    return parse_local(body, where, full_day=Window(time(0), None))


def parse_local(raw: Mapping[str, Any], where: str, full_day: Window | None) -> LocalRules:
    return LocalRules(
        hours=_parse_hours(raw.get("calling_hours"), f"{where}.calling_hours", full_day),
        banned_weekdays=parse_weekdays(raw.get("banned_weekdays", []),
                                       f"{where}.banned_weekdays"),
        banned_dates=parse_dates(raw.get("banned_dates", []), f"{where}.banned_dates"),
        frequency_caps=parse_caps(raw.get("frequency_caps", []), f"{where}.frequency_caps"),
    )


def _parse_hours(raw: object, where: str, full_day: Window | None) -> tuple[Window | None, ...]:
    if raw is None and full_day is not None:
        return (full_day,) * 7
    body = expect(raw, Mapping, where, "a mapping of weekday (or default) to [start, end]")
    reject_unknown(body, frozenset({"default", *WEEKDAYS}), where)
    default = _parse_day(body.get("default", full_day), f"{where}.default")
    return tuple(
        _parse_day(body[d], f"{where}.{d}") if d in body else default for d in WEEKDAYS
    )


def _parse_day(raw: object, where: str) -> Window | None:
    if raw is None or isinstance(raw, Window):
        return raw
    pair = expect(raw, list, where, "[start, end] or null")
    if len(pair) != 2:
        raise ConfigError(where, "expected [start, end]")
    return parse_window(pair[0], pair[1], where)


def parse_window(start_raw: object, end_raw: object, where: str) -> Window:
    start = at(parse_hhmm, start_raw, where)
    end = at(parse_hhmm, end_raw, where)
    if start is None or (end is not None and end <= start):
        raise ConfigError(where, f"the end must come after the start ({start_raw}-{end_raw})")
    return Window(start, end)


def parse_weekdays(raw: object, where: str) -> frozenset[int]:
    items = expect(raw, list, where, "a list of weekdays")
    return frozenset(at(parse_weekday, v, f"{where}[{i}]") for i, v in enumerate(items))


def parse_dates(raw: object, where: str) -> frozenset[date]:
    items = expect(raw, list, where, "a list of dates YYYY-MM-DD")
    return frozenset(at(parse_date, v, f"{where}[{i}]") for i, v in enumerate(items))


def parse_caps(raw: object, where: str) -> tuple[Cap, ...]:
    items = expect(raw, list, where, "a list of {max, per}")
    return tuple(_parse_cap(v, f"{where}[{i}]") for i, v in enumerate(items))


def _parse_cap(raw: object, where: str) -> Cap:
    body = expect(raw, Mapping, where, "a mapping {max, per}")
    reject_unknown(body, frozenset({"max", "per"}), where)
    count = body.get("max")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigError(f"{where}.max", f"expected a whole number of at least 1, got {count!r}")
    return Cap(count, at(parse_duration, body.get("per"), f"{where}.per"))


def parse_ratio(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 1:
        raise ConfigError(where, f"expected a fraction above 0 and at most 1, got {raw!r}")
    return float(raw)


def parse_abandon_window(raw: object, where: str) -> AbandonWindow:
    if raw in ("calendar_day", "calendar_month"):
        return AbandonWindow(str(raw).removeprefix("calendar_"))
    return AbandonWindow("rolling", at(parse_duration, raw, where))


def _optional(raw: object, where: str) -> timedelta | None:
    return None if raw is None else at(parse_duration, raw, where)


def _parse_ebr(raw: object, where: str) -> dict[str, int]:
    body = expect(raw, Mapping, where, "a mapping of consent type to months")
    reject_unknown(body, frozenset({"ebr_purchase", "ebr_inquiry"}), where)
    for k, v in body.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ConfigError(f"{where}.{k}", f"expected a number of months, got {v!r}")
    return {str(k): int(v) for k, v in body.items()}


def expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(where, f"expected {what}, got {value!r}")
    return value


def reject_unknown(raw: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})")


def at(parse: Any, value: object, where: str) -> Any:
    """Run a value parser and name the key path on failure."""
    try:
        return parse(value)
    except ValueFormatError as exc:
        raise ConfigError(where, str(exc)) from None


@cache
def rules_for(region: str) -> RulesTable:
    """The packaged table of a region (``rules_us.yaml``...)."""
    name = f"rules_{region.lower()}.yaml"
    path = resources.files(__package__).joinpath(name)
    if not region.isalpha() or not path.is_file():
        raise ConfigError("region", f"no rules table is shipped for region {region!r}")
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return parse_rules_table(raw, name)
