"""Builders shared by the compliance unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pyroaring import BitMap64

from dialer.core.compliance import (
    CampaignRules,
    Consent,
    DncList,
    FilterData,
    History,
    ListSet,
    NumberFacts,
    parse_campaign_rules,
)

FRESH = datetime(2026, 1, 1, tzinfo=UTC)


def campaign(name: str = "sales", **keys: Any) -> CampaignRules:
    return parse_campaign_rules(keys, f"campaigns.{name}")


def facts(phone: int = 12125550100, state: str | None = "NY",
          zones: tuple[str, ...] = ("America/New_York",), valid: bool = True) -> NumberFacts:
    return NumberFacts(phone, valid, "US" if valid else None, zones if valid else (), state)


@dataclass
class Spec:
    """Filter data as plain values: lists are (kind, scope, phones[, loaded_at])."""

    lists: list[tuple[Any, ...]] = field(default_factory=list)
    opt_outs: list[int] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    attempts: list[tuple[int, datetime, bool]] = field(default_factory=list)
    answers: list[tuple[str, datetime, bool]] = field(default_factory=list)

    def build(self) -> FilterData:
        lists = {i: _dnc(i, spec) for i, spec in enumerate(self.lists, 1)}
        history = History()
        for c in self.consents:
            history.consents.upsert(c)
        for phone, at, abandoned in self.attempts:
            history.attempts.note(phone, at, abandoned)
        for name, at, abandoned in self.answers:
            history.ledger.note(name, at, True, abandoned)
        return FilterData(ListSet.build(lists, BitMap64(self.opt_outs)), history)


def _dnc(i: int, spec: tuple[Any, ...]) -> DncList:
    kind, scope, phones = spec[:3]
    loaded = spec[3] if len(spec) > 3 else None
    return DncList(i, f"{kind}-{scope or 'all'}-{i}", kind, scope, i, loaded,
                   BitMap64(list(phones)))


def consent(phone: int, type_: str, obtained: datetime, scope: str = "brand:acme",
            expires: datetime | None = None, revoked: datetime | None = None) -> Consent:
    return Consent(phone, scope, type_, obtained, expires, revoked)


def answers(name: str, at: datetime, live: int, abandoned: int) -> list[tuple[str, datetime, bool]]:
    step = timedelta(minutes=1)
    return [(name, at - step * (i + 1), i < abandoned) for i in range(live)]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def json_keys(items: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(i["reason"]) for i in items]
