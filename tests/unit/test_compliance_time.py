"""Local time: window edges, DST, zones, states, leap days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dialer.core.compliance import check, number_facts
from dialer.core.compliance.check import months_after
from tests.unit.compliance_helpers import Spec, campaign, consent, facts, utc

EMPTY = Spec().build()


def reasons_at(f, when: datetime, **keys) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return check(f, campaign(**keys), when, EMPTY).reasons


@pytest.mark.parametrize(("hms", "allowed"), [
    ((7, 59, 59), False), ((8, 0, 0), True), ((20, 59, 59), True), ((21, 0, 0), False),
])
def test_federal_window_starts_inclusive_and_ends_exclusive(hms, allowed) -> None:  # type: ignore[no-untyped-def]
    h, m, s = hms
    when = utc(2026, 3, 4, h, m, s) + timedelta(hours=5)  # New York is UTC-5 in early March
    assert (reasons_at(facts(), when) == ()) is allowed


@pytest.mark.parametrize(("when", "allowed"), [
    (utc(2026, 3, 7, 12, 30), False),   # Saturday 07:30 EST
    (utc(2026, 3, 8, 12, 30), True),    # Sunday 08:30 EDT: clocks went forward at 02:00
    (utc(2026, 3, 8, 0, 30), True),     # Saturday 19:30 EST
    (utc(2026, 3, 9, 0, 30), False),    # Sunday 20:30 EDT, after Florida's 20:00
])
def test_spring_forward_moves_the_window_an_hour_earlier_in_utc(when, allowed) -> None:  # type: ignore[no-untyped-def]
    f = facts(13055550100, "FL")  # Florida: 08:00-20:00
    assert (reasons_at(f, when) == ()) is allowed


@pytest.mark.parametrize(("when", "allowed"), [
    (utc(2026, 10, 31, 12, 30), True),   # Saturday 08:30 EDT
    (utc(2026, 11, 1, 12, 30), False),   # Sunday 07:30 EST: clocks went back at 02:00
    (utc(2026, 11, 1, 13, 0), True),     # Sunday 08:00 EST
    (utc(2026, 11, 2, 1, 59, 59), True), # Sunday 20:59:59 EST
])
def test_fall_back_moves_the_window_an_hour_later_in_utc(when, allowed) -> None:  # type: ignore[no-untyped-def]
    assert (reasons_at(facts(), when) == ()) is allowed


def test_area_code_spanning_two_zones_needs_both_inside_the_window() -> None:
    f = number_facts("+16055551234", "US")
    assert len(f.time_zones) == 2
    # 14:30 UTC in March: 08:30 Central, 07:30 Mountain
    assert reasons_at(f, utc(2026, 3, 4, 14, 30)) == ("outside_calling_hours",)
    assert reasons_at(f, utc(2026, 3, 4, 15, 0)) == ()


def test_florida_ends_at_20_00_where_new_york_ends_at_21_00() -> None:
    at_2000 = utc(2026, 3, 5, 1, 0)  # 20:00 EST
    just_before = at_2000 - timedelta(seconds=1)
    fl = facts(13055550100, "FL")
    assert reasons_at(fl, at_2000) == ("outside_calling_hours",)
    assert reasons_at(fl, just_before) == ()
    assert reasons_at(facts(), at_2000) == ()


def test_lead_state_overrides_the_area_code() -> None:
    by_code = number_facts("+13055550100", "US")
    by_lead = number_facts("+13055550100", "US", state="NY")
    assert (by_code.state, by_lead.state) == ("FL", "NY")
    at_2030 = utc(2026, 3, 5, 1, 30)
    assert reasons_at(by_code, at_2030) == ("outside_calling_hours",)
    assert reasons_at(by_lead, at_2030) == ()
    in_ca = number_facts("+12125550100", "US", zip="94103")  # a New York number, CA address
    assert in_ca.time_zones == ("America/Los_Angeles",)
    assert reasons_at(in_ca, utc(2026, 3, 4, 14, 0)) == ("outside_calling_hours",)


def test_banned_leap_day_blocks_only_that_day() -> None:
    keys = {"banned_dates": ["2028-02-29"]}
    assert reasons_at(facts(), utc(2028, 2, 29, 17, 0), **keys) == ("holiday",)
    assert reasons_at(facts(), utc(2028, 2, 28, 17, 0), **keys) == ()
    assert reasons_at(facts(), utc(2028, 3, 1, 17, 0), **keys) == ()


def test_holiday_is_judged_by_the_local_date() -> None:
    keys = {"banned_dates": ["2026-03-04"]}
    # 00:30 UTC on the 5th is 16:30 on the 4th in Los Angeles
    la = facts(12135550100, "CA", ("America/Los_Angeles",))
    assert reasons_at(la, utc(2026, 3, 5, 0, 30), **keys) == ("holiday",)


def test_months_after_clamps_to_the_end_of_a_leap_february() -> None:
    assert months_after(utc(2027, 11, 30, 9), 3) == utc(2028, 2, 29, 9)
    assert months_after(utc(2028, 2, 29, 9), 12) == utc(2029, 2, 28, 9)
    assert months_after(utc(2028, 2, 29, 9), 18) == utc(2029, 8, 29, 9)


def test_ebr_inquiry_runs_three_months_across_a_leap_day() -> None:
    p = 12125550100
    spec = Spec(lists=[("national", "US", [p], utc(2028, 2, 20))],
                consents=[consent(p, "ebr_inquiry", utc(2027, 11, 29, 17))])
    data = spec.build()
    sales = campaign(brand="acme")
    assert check(facts(), sales, utc(2028, 2, 29, 16, 59), data).allowed
    assert check(facts(), sales, utc(2028, 2, 29, 17, 0), data).reasons == ("dnc_national",)


def test_frequency_cap_window_spans_a_leap_day() -> None:
    p = 12125550100
    spec = Spec(attempts=[(p, utc(2028, 2, 28, 18), False), (p, utc(2028, 2, 29, 16), False)])
    keys = {"frequency_caps": [{"max": 2, "per": "24h"}]}
    data = spec.build()
    assert check(facts(), campaign(**keys), utc(2028, 2, 29, 17), data).reasons == (
        "frequency_cap",)
    assert check(facts(), campaign(**keys), utc(2028, 2, 29, 18), data).allowed
