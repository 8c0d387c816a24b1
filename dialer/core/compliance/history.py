"""What a check needs to know about the past: consents, attempts, abandoned calls.

The ledgers keep sorted epoch-second timestamps, so a window query is two bisections.
Entries older than ``HORIZON`` are dropped as new ones arrive. An attempt noted twice
with the same id (by this engine, then echoed by the database feed) counts once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HORIZON = timedelta(days=62)
_SEEN_MAX = 500_000


@dataclass(frozen=True, slots=True)
class Consent:
    phone: int
    scope: str
    type: str
    obtained_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    id: int | None = None

    def revoked(self, now: datetime) -> bool:
        return self.revoked_at is not None and self.revoked_at <= now

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(slots=True)
class ConsentBook:
    """Consents by phone; an upsert by id replaces a consent (revocation, expiry change)."""

    by_phone: dict[int, tuple[Consent, ...]] = field(default_factory=dict)

    def get(self, phone: int) -> tuple[Consent, ...]:
        return self.by_phone.get(phone, ())

    def upsert(self, consent: Consent) -> None:
        kept = tuple(c for c in self.get(consent.phone)
                     if consent.id is None or c.id != consent.id)
        self.by_phone[consent.phone] = (*kept, consent)


class _Seen:
    """Attempt ids noted recently, with what was counted for each: (attempt, live, abandon)."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, tuple[bool, bool, bool]] = OrderedDict()

    def get(self, key: str | None) -> tuple[bool, bool, bool]:
        return self._ids.get(key, (False, False, False)) if key else (False, False, False)

    def put(self, key: str | None, counted: tuple[bool, bool, bool]) -> None:
        if key is None:
            return
        self._ids[key] = counted
        if len(self._ids) > _SEEN_MAX:
            self._ids.popitem(last=False)


def _add(times: list[float], at: float) -> None:
    if not times or times[-1] <= at:
        times.append(at)
    else:
        insort(times, at)
    if times[0] < times[-1] - HORIZON.total_seconds():
        del times[: bisect_left(times, times[-1] - HORIZON.total_seconds())]


def _count(times: list[float], since: float, until: float) -> int:
    """Entries with since < t <= until."""
    return bisect_right(times, until) - bisect_right(times, since)


@dataclass(slots=True)
class AttemptLedger:
    """Per number: when it was dialled, and when a call to it was abandoned."""

    attempts: dict[int, list[float]] = field(default_factory=dict)
    abandons: dict[int, list[float]] = field(default_factory=dict)
    _seen: _Seen = field(default_factory=_Seen)

    def note(self, phone: int, at: datetime, abandoned: bool,
             attempt_id: str | None = None) -> None:
        done_attempt, live, done_abandon = self._seen.get(attempt_id)
        ts = at.timestamp()
        if not done_attempt:
            _add(self.attempts.setdefault(phone, []), ts)
        if abandoned and not done_abandon:
            _add(self.abandons.setdefault(phone, []), ts)
        self._seen.put(attempt_id, (True, live, done_abandon or abandoned))

    def count(self, phone: int, since: datetime, until: datetime) -> int:
        times = self.attempts.get(phone)
        return _count(times, since.timestamp(), until.timestamp()) if times else 0

    def abandoned(self, phone: int, since: datetime, until: datetime) -> int:
        times = self.abandons.get(phone)
        return _count(times, since.timestamp(), until.timestamp()) if times else 0


@dataclass(slots=True)
class AbandonLedger:
    """Per campaign: live answers and abandoned calls, for the abandonment rate."""

    live: dict[str, list[float]] = field(default_factory=dict)
    abandoned: dict[str, list[float]] = field(default_factory=dict)
    _seen: _Seen = field(default_factory=_Seen)

    def note(self, campaign: str, at: datetime, live_answer: bool, abandoned: bool,
             attempt_id: str | None = None) -> None:
        _done, done_live, done_abandon = self._seen.get(attempt_id)
        ts = at.timestamp()
        if (live_answer or abandoned) and not done_live:
            _add(self.live.setdefault(campaign, []), ts)
        if abandoned and not done_abandon:
            _add(self.abandoned.setdefault(campaign, []), ts)
        self._seen.put(attempt_id, (True, done_live or live_answer or abandoned,
                                    done_abandon or abandoned))

    def counts(self, campaign: str, since: datetime, until: datetime) -> tuple[int, int]:
        """(abandoned, live answers) with since < t <= until."""
        lo, hi = since.timestamp(), until.timestamp()
        return (_count(self.abandoned.get(campaign, []), lo, hi),
                _count(self.live.get(campaign, []), lo, hi))


@dataclass(slots=True)
class History:
    consents: ConsentBook = field(default_factory=ConsentBook)
    attempts: AttemptLedger = field(default_factory=AttemptLedger)
    ledger: AbandonLedger = field(default_factory=AbandonLedger)
