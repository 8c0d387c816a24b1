"""A campaign's compliance keys, parsed once into frozen ``CampaignRules``.

A campaign may tighten any rule of its jurisdiction. A value looser than the law is a
ConfigError unless the campaign sets ``override: true``; each key so loosened is listed in
``CampaignRules.overrides`` so the caller can log it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from dialer.core.compliance.durations import parse_duration
from dialer.core.compliance.rules import (
    AbandonWindow,
    Cap,
    RulesTable,
    Window,
    at,
    expect,
    parse_abandon_window,
    parse_caps,
    parse_dates,
    parse_ratio,
    parse_weekdays,
    parse_window,
    reject_unknown,
    rules_for,
)
from dialer.core.errors import ConfigError

COMPLIANCE_KEYS: frozenset[str] = frozenset({
    "region", "brand", "call_type", "require_consent", "calling_hours", "banned_weekdays",
    "banned_dates", "frequency_caps", "abandon_cooldown", "abandon_target", "abandon_window",
    "override",
})
CALL_TYPES = ("telemarketing", "informational")


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """What the filter needs of one campaign; ``table`` is its jurisdiction's rules."""

    name: str
    table: RulesTable
    region: str = "US"
    brand: str | None = None
    call_type: str = "telemarketing"
    require_consent: bool = False
    calling_hours: Window | None = None
    banned_weekdays: frozenset[int] = frozenset()
    banned_dates: frozenset[date] = frozenset()
    frequency_caps: tuple[Cap, ...] = ()
    abandon_cooldown: timedelta | None = None
    abandon_target: float | None = None
    abandon_window: AbandonWindow | None = None
    override: bool = False
    overrides: tuple[str, ...] = field(default=())

    @property
    def scopes(self) -> frozenset[str]:
        """Consent scopes that cover this campaign."""
        own = {f"campaign:{self.name}"}
        return frozenset(own | ({f"brand:{self.brand}"} if self.brand else set()))

    @property
    def telemarketing(self) -> bool:
        return self.call_type == "telemarketing"

    def effective_target(self) -> float:
        return self.abandon_target if self.abandon_target is not None else self.table.abandon_target

    def effective_window(self) -> AbandonWindow:
        return self.abandon_window or self.table.abandon_window

    def effective_cooldown(self) -> timedelta | None:
        if "abandon_cooldown" in self.overrides:
            return self.abandon_cooldown
        found = [c for c in (self.abandon_cooldown, self.table.abandon_cooldown) if c]
        return max(found) if found else None


def parse_campaign_rules(raw: Mapping[str, Any], where: str, *, name: str | None = None,
                         table: RulesTable | None = None) -> CampaignRules:
    """Parse a campaign's compliance keys (``COMPLIANCE_KEYS``); ``where`` is the key path
    of the campaign (``campaigns.sales``), whose last part is its name unless given."""
    reject_unknown(raw, COMPLIANCE_KEYS, where)
    region = expect(raw.get("region", "US"), str, f"{where}.region", "a region code like US")
    table = table or _table(region.upper(), f"{where}.region")
    override = expect(raw.get("override", False), bool, f"{where}.override", "true or false")
    rules = CampaignRules(
        name=name or where.rsplit(".", 1)[-1], table=table, region=region.upper(),
        brand=_brand(raw.get("brand"), f"{where}.brand"),
        call_type=_call_type(raw.get("call_type", "telemarketing"), f"{where}.call_type"),
        require_consent=expect(raw.get("require_consent", False), bool,
                               f"{where}.require_consent", "true or false"),
        calling_hours=_hours(raw.get("calling_hours"), f"{where}.calling_hours"),
        banned_weekdays=parse_weekdays(raw.get("banned_weekdays", []),
                                       f"{where}.banned_weekdays"),
        banned_dates=parse_dates(raw.get("banned_dates", []), f"{where}.banned_dates"),
        frequency_caps=parse_caps(raw.get("frequency_caps", []), f"{where}.frequency_caps"),
        abandon_cooldown=_duration(raw.get("abandon_cooldown"), f"{where}.abandon_cooldown"),
        abandon_target=_maybe(parse_ratio, raw.get("abandon_target"), f"{where}.abandon_target"),
        abandon_window=_maybe(parse_abandon_window, raw.get("abandon_window"),
                              f"{where}.abandon_window"),
        override=override,
    )
    return _check_floor(rules, where)


def _table(region: str, where: str) -> RulesTable:
    try:
        return rules_for(region)
    except ConfigError as exc:
        raise ConfigError(where, exc.message) from None


def _brand(raw: object, where: str) -> str | None:
    return None if raw is None else str(expect(raw, str, where, "a brand name"))


def _call_type(raw: object, where: str) -> str:
    if raw not in CALL_TYPES:
        raise ConfigError(where, f"expected telemarketing or informational, got {raw!r}")
    return str(raw)


def _hours(raw: object, where: str) -> Window | None:
    if raw is None:
        return None
    body = expect(raw, Mapping, where, "a mapping {start: HH:MM, end: HH:MM}")
    reject_unknown(body, frozenset({"start", "end"}), where)
    for key in ("start", "end"):
        if key not in body:
            raise ConfigError(f"{where}.{key}", "missing (expected HH:MM)")
    return parse_window(body["start"], body["end"], where)


def _duration(raw: object, where: str) -> timedelta | None:
    return None if raw is None else at(parse_duration, raw, where)


def _maybe(parse: Any, raw: object, where: str) -> Any:
    return None if raw is None else parse(raw, where)


def _looser(rules: CampaignRules) -> list[tuple[str, str]]:
    """(key, why) for each value looser than the law."""
    law, found = rules.table, []
    base = law.base.hours[0]
    if rules.calling_hours and base and not rules.calling_hours.within(base):
        found.append(("calling_hours", f"wider than the law's {base.render()}"))
    if rules.abandon_target is not None and rules.abandon_target > law.abandon_target:
        found.append(("abandon_target", f"above the law's {law.abandon_target}"))
    if rules.abandon_window and rules.abandon_window.longer_than(law.abandon_window):
        found.append(("abandon_window", "longer than the law's window"))
    cool = law.abandon_cooldown
    if cool and rules.abandon_cooldown is not None and rules.abandon_cooldown < cool:
        found.append(("abandon_cooldown", "shorter than the law's cooldown"))
    return found


def _check_floor(rules: CampaignRules, where: str) -> CampaignRules:
    looser = _looser(rules)
    if looser and not rules.override:
        key, why = looser[0]
        raise ConfigError(f"{where}.{key}", f"{why}; set override: true to allow it")
    return _replace_overrides(rules, tuple(k for k, _ in looser))


def _replace_overrides(rules: CampaignRules, keys: tuple[str, ...]) -> CampaignRules:
    return replace(rules, overrides=keys)
