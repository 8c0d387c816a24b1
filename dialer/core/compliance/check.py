"""``check``: every rule of the table applied to one number at one instant.

Each rule is a function of a ``Query`` that yields the details of its blocks; ``RULES``
lists them in order. A verdict names every rule that blocks, not just the first.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dialer.core.compliance.campaign import CampaignRules
from dialer.core.compliance.history import Consent, History
from dialer.core.compliance.lists import DncList, ListSet
from dialer.core.compliance.numbers import NumberFacts, number_facts
from dialer.core.compliance.rules import Cap, Window
from dialer.core.compliance.verdict import ALLOWED, UNAVAILABLE, Detail, Verdict

WRITTEN = frozenset({"express_written"})
ANY_EXPRESS = frozenset({"express", "express_written"})


@dataclass(frozen=True, slots=True)
class FilterData:
    """Everything a check reads besides the number, the campaign and the time."""

    lists: ListSet
    history: History


@dataclass(frozen=True, slots=True)
class Query:
    facts: NumberFacts
    campaign: CampaignRules
    now: datetime
    data: FilterData
    agent_waiting: bool

    @property
    def phone(self) -> int:
        return self.facts.e164


Rule = Callable[[Query], Iterable[Detail]]


def check(number: NumberFacts | int | str, campaign: CampaignRules, now: datetime,
          data: FilterData | None = None, *, agent_waiting: bool = False) -> Verdict:
    """The verdict for dialling ``number`` for ``campaign`` at ``now`` (timezone-aware).

    ``data`` None means the filter is not loaded: the verdict is ``filter_unavailable``.
    ``agent_waiting`` lifts the campaign's abandonment ceiling for this one call.
    """
    if data is None:
        return UNAVAILABLE
    if now.tzinfo is None:
        raise ValueError("check() needs a timezone-aware time")
    facts = number if isinstance(number, NumberFacts) else number_facts(number, campaign.region)
    query = Query(facts, campaign, now, data, agent_waiting)
    details = [d for rule in RULES for d in rule(query)]
    return Verdict.of(tuple(details)) if details else ALLOWED


def check_many(numbers: Sequence[NumberFacts | int | str], campaign: CampaignRules,
               now: datetime, data: FilterData | None = None, *,
               agent_waiting: bool = False) -> list[Verdict]:
    """One verdict per number, in order."""
    return [check(n, campaign, now, data, agent_waiting=agent_waiting) for n in numbers]


# ---- lists ---------------------------------------------------------------------------

def _hits(lists: Iterable[DncList], phone: int) -> Iterator[DncList]:
    return (d for d in lists if phone in d.numbers)


def invalid_number(q: Query) -> Iterator[Detail]:
    if not q.facts.valid:
        yield Detail("invalid_number", f"not a valid number for region {q.campaign.region}")


def dnc_internal(q: Query) -> Iterator[Detail]:
    if q.phone in q.data.lists.opt_outs:
        yield Detail("dnc_internal", "the number opted out", "opt_outs")
    for d in _hits(q.data.lists.get("internal"), q.phone):
        yield Detail("dnc_internal", f"on internal list {d.name}", d.ref)


def dnc_campaign(q: Query) -> Iterator[Detail]:
    for d in _hits(q.data.lists.get("campaign", q.campaign.name), q.phone):
        yield Detail("dnc_campaign", f"on the campaign's list {d.name}", d.ref)


def litigator(q: Query) -> Iterator[Detail]:
    for d in _hits(q.data.lists.get("litigator"), q.phone):
        yield Detail("litigator", f"on litigator list {d.name}", d.ref)


def dnc_national(q: Query) -> Iterator[Detail]:
    lists = q.data.lists.get("national", q.facts.country)
    if q.campaign.telemarketing and lists and not exempt(q):
        for d in _hits(lists, q.phone):
            yield Detail("dnc_national", f"on national list {d.name}, no exemption", d.ref)


def dnc_state(q: Query) -> Iterator[Detail]:
    lists = q.data.lists.get("state", q.facts.state) if q.facts.state else ()
    if q.campaign.telemarketing and lists and not exempt(q):
        for d in _hits(lists, q.phone):
            yield Detail("dnc_state", f"on {q.facts.state} state list {d.name}", d.ref)


def dnc_data_stale(q: Query) -> Iterator[Detail]:
    if not q.campaign.telemarketing:
        return
    oldest = q.now - q.campaign.table.national_list_max_age
    for d in q.data.lists.get("national", q.facts.country or q.campaign.region):
        if d.loaded_at is None or d.loaded_at < oldest:
            yield Detail("dnc_data_stale", f"national list {d.name} is older than "
                         f"{q.campaign.table.national_list_max_age.days} days", d.ref)


# ---- consent -------------------------------------------------------------------------

def _in_scope(q: Query) -> list[Consent]:
    scopes = q.campaign.scopes
    return [c for c in q.data.history.consents.get(q.phone)
            if c.scope in scopes and c.obtained_at <= q.now]


def _valid(c: Consent, now: datetime) -> bool:
    return not c.revoked(now) and not c.expired(now)


def exempt(q: Query) -> bool:
    """Express written consent, or an established business relationship still running."""
    for c in _in_scope(q):
        if not _valid(c, q.now):
            continue
        if c.type in WRITTEN:
            return True
        months = q.campaign.table.ebr_months.get(c.type)
        if months is not None and q.now < months_after(c.obtained_at, months):
            return True
    return False


def months_after(at: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months later (clamped to the month's end)."""
    y, m = divmod(at.month - 1 + months, 12)
    year, month = at.year + y, m + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def consent(q: Query) -> Iterator[Detail]:
    if not q.campaign.require_consent:
        return
    kinds = WRITTEN if q.campaign.telemarketing else ANY_EXPRESS
    found = [c for c in _in_scope(q) if c.type in kinds]
    if any(_valid(c, q.now) for c in found):
        return
    if not found:
        yield Detail("no_consent", f"no {' or '.join(sorted(kinds))} consent for "
                     f"{' or '.join(sorted(q.campaign.scopes))}")
    if any(c.revoked(q.now) for c in found):
        yield Detail("consent_revoked", "every consent in scope was revoked or has expired")
    if any(c.expired(q.now) and not c.revoked(q.now) for c in found):
        yield Detail("consent_expired", "every consent in scope has expired or was revoked")


# ---- time ----------------------------------------------------------------------------

@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def window_for(campaign: CampaignRules, state: str | None, weekday: int) -> Window | None:
    """The calling window of a weekday: the law's (federal, then state), narrowed by the
    campaign's own, or replaced by it under an override."""
    own = campaign.calling_hours
    if own is not None and "calling_hours" in campaign.overrides:
        return own
    law = campaign.table.base.hours[weekday]
    local = campaign.table.local(state)
    if law is not None and local is not None:
        law = law.narrower(local.hours[weekday])
    return law.narrower(own) if law is not None and own is not None else law


def calling_hours(q: Query) -> Iterator[Detail]:
    for name in q.facts.time_zones:
        local = q.now.astimezone(zone(name))
        window = window_for(q.campaign, q.facts.state, local.weekday())
        if window is None or not window.contains(local.time()):
            allowed = window.render() if window else "no calls that day"
            yield Detail("outside_calling_hours",
                         f"{local:%H:%M:%S} in {name}, allowed {allowed}", name)
            return


def holiday(q: Query) -> Iterator[Detail]:
    local = q.campaign.table.local(q.facts.state)
    banned = [(q.campaign.banned_dates, q.campaign.banned_weekdays),
              (q.campaign.table.base.banned_dates, q.campaign.table.base.banned_weekdays)]
    if local is not None:
        banned.append((local.banned_dates, local.banned_weekdays))
    for name in q.facts.time_zones:
        day = q.now.astimezone(zone(name)).date()
        if any(day in dates or day.weekday() in weekdays for dates, weekdays in banned):
            yield Detail("holiday", f"{day:%a %Y-%m-%d} in {name} is a banned day", name)
            return


# ---- attempts ------------------------------------------------------------------------

def caps_for(q: Query) -> tuple[Cap, ...]:
    local = q.campaign.table.local(q.facts.state)
    state_caps = local.frequency_caps if local else ()
    return (*q.campaign.table.base.frequency_caps, *state_caps, *q.campaign.frequency_caps)


def frequency_cap(q: Query) -> Iterator[Detail]:
    ledger = q.data.history.attempts
    for cap in caps_for(q):
        made = ledger.count(q.phone, q.now - cap.per, q.now)
        if made >= cap.max:
            yield Detail("frequency_cap", f"{made} attempts, cap {cap.render()}", cap.render())


def abandon_cooldown(q: Query) -> Iterator[Detail]:
    cooldown = q.campaign.effective_cooldown()
    if cooldown and q.data.history.attempts.abandoned(q.phone, q.now - cooldown, q.now):
        yield Detail("abandon_cooldown", f"a call to it was abandoned in the last {cooldown}")


def campaign_abandon_limit(q: Query) -> Iterator[Detail]:
    if q.agent_waiting:
        return
    since = q.campaign.effective_window().start(q.now) - timedelta(microseconds=1)
    abandoned, live = q.data.history.ledger.counts(q.campaign.name, since, q.now)
    target = q.campaign.effective_target()
    if live and abandoned / live >= target:
        yield Detail("campaign_abandon_limit", f"{abandoned} abandoned of {live} live answers "
                     f"reaches the ceiling {target:.2%}; dial only with an agent waiting")


RULES: tuple[Rule, ...] = (
    invalid_number, dnc_internal, dnc_campaign, litigator, dnc_national, dnc_state,
    dnc_data_stale, consent, calling_hours, holiday, frequency_cap, abandon_cooldown,
    campaign_abandon_limit,
)
