"""Properties of the verdict that hold for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.core.compliance import KINDS, check
from tests.unit.compliance_helpers import Spec, campaign, consent, facts

PHONES = st.integers(min_value=12012000000, max_value=12012000020)
TIMES = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31),
                     timezones=st.just(UTC))
STATES = st.sampled_from([None, "NY", "FL", "CA", "TX"])
ZONES = st.sampled_from([("America/New_York",), ("America/Chicago", "America/Denver"),
                         ("America/Los_Angeles",)])
SCOPES = {"national": "US", "state": "NY", "campaign": "sales"}

campaigns = st.builds(
    lambda consent_, informational, cap, cooldown: campaign(
        brand="acme", require_consent=consent_,
        call_type="informational" if informational else "telemarketing",
        frequency_caps=[{"max": cap, "per": "24h"}], abandon_cooldown=cooldown),
    st.booleans(), st.booleans(), st.integers(1, 4), st.sampled_from([None, "24h", "72h"]))

list_entries = st.tuples(st.sampled_from(KINDS), PHONES, st.integers(0, 40))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    lists = [(k, SCOPES.get(k), [p], now - timedelta(days=age))
             for k, p, age in draw(st.lists(list_entries, max_size=4))]
    consents = [consent(p, t, now - timedelta(days=d))
                for p, t, d in draw(st.lists(st.tuples(
                    PHONES, st.sampled_from(["express_written", "express", "ebr_purchase"]),
                    st.integers(0, 900)), max_size=3))]
    attempts = [(p, now - timedelta(hours=h), a) for p, h, a in draw(st.lists(
        st.tuples(PHONES, st.integers(0, 200), st.booleans()), max_size=5))]
    return Spec(lists=lists, opt_outs=draw(st.lists(PHONES, max_size=2)),
                consents=consents, attempts=attempts)


numbers = st.builds(lambda p, s, z: facts(p, s, z), PHONES, STATES, ZONES)


@settings(max_examples=150, deadline=None)
@given(numbers, campaigns, TIMES, specs(), st.sampled_from([None, "company"]))
def test_number_on_an_internal_list_is_never_allowed(f, camp, now, spec, how) -> None:  # type: ignore[no-untyped-def]
    if how is None:
        spec.opt_outs.append(f.e164)
    else:
        spec.lists.append(("internal", None, [f.e164]))
    verdict = check(f, camp, now, spec.build())
    assert not verdict.allowed and "dnc_internal" in verdict.reasons


@settings(max_examples=150, deadline=None)
@given(numbers, campaigns, TIMES, specs(), list_entries)
def test_adding_a_list_entry_never_turns_a_block_into_an_allow(f, camp, now, spec, entry) -> None:  # type: ignore[no-untyped-def]
    before = check(f, camp, now, spec.build())
    kind, phone, age = entry
    spec.lists.append((kind, SCOPES.get(kind), [phone], now - timedelta(days=age)))
    after = check(f, camp, now, spec.build())
    assert set(before.reasons) <= set(after.reasons)
    assert after.allowed <= before.allowed


@settings(max_examples=150, deadline=None)
@given(numbers, campaigns, TIMES, specs())
def test_verdict_depends_only_on_its_inputs(f, camp, now, spec) -> None:  # type: ignore[no-untyped-def]
    first = check(f, camp, now, spec.build())
    check(facts(12012000099), camp, now + timedelta(days=3), spec.build())
    assert check(f, camp, now, spec.build()) == first
    data = spec.build()
    assert check(f, camp, now, data) == check(f, camp, now, data) == first
