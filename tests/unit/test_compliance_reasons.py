"""Each reason code appears exactly when its rule applies (table-driven)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.core.compliance import check
from tests.unit.compliance_helpers import Spec, answers, campaign, consent, facts, utc

NOW = utc(2026, 3, 4, 17, 0)  # Wednesday 12:00 in New York
P = 12125550100
OLD = NOW - timedelta(days=10)
NATIONAL = ("national", "US", [P], NOW - timedelta(days=3))
WRITTEN = consent(P, "express_written", OLD)

CASES = [
    # (name, campaign keys, facts kwargs, spec, now, expected reasons)
    ("clean number is allowed", {}, {}, Spec(), NOW, ()),
    ("invalid number", {}, {"valid": False}, Spec(), NOW, ("invalid_number",)),
    ("opt-out is internal", {}, {}, Spec(opt_outs=[P]), NOW, ("dnc_internal",)),
    ("internal list", {}, {}, Spec(lists=[("internal", None, [P])]), NOW, ("dnc_internal",)),
    ("internal list ignores written consent", {"brand": "acme"}, {},
     Spec(lists=[("internal", None, [P])], consents=[WRITTEN]), NOW, ("dnc_internal",)),
    ("own campaign list", {}, {}, Spec(lists=[("campaign", "sales", [P])]), NOW,
     ("dnc_campaign",)),
    ("another campaign's list does not apply", {}, {},
     Spec(lists=[("campaign", "other", [P])]), NOW, ()),
    ("litigator", {}, {}, Spec(lists=[("litigator", None, [P])]), NOW, ("litigator",)),
    ("national list, telemarketing", {}, {}, Spec(lists=[NATIONAL]), NOW, ("dnc_national",)),
    ("national list, informational", {"call_type": "informational"}, {},
     Spec(lists=[NATIONAL]), NOW, ()),
    ("national list, written consent exempts", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[WRITTEN]), NOW, ()),
    ("national list, consent for another brand does not", {"brand": "other"}, {},
     Spec(lists=[NATIONAL], consents=[WRITTEN]), NOW, ("dnc_national",)),
    ("national list, campaign-scoped consent exempts", {}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "express_written", OLD, "campaign:sales")]),
     NOW, ()),
    ("national list, express (not written) does not exempt", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "express", OLD)]), NOW, ("dnc_national",)),
    ("national list, EBR purchase within 18 months exempts", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "ebr_purchase", NOW - timedelta(days=500))]),
     NOW, ()),
    ("national list, EBR purchase after 18 months does not", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "ebr_purchase", NOW - timedelta(days=560))]),
     NOW, ("dnc_national",)),
    ("national list, EBR inquiry within 3 months exempts", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "ebr_inquiry", NOW - timedelta(days=80))]),
     NOW, ()),
    ("national list, EBR inquiry after 3 months does not", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "ebr_inquiry", NOW - timedelta(days=95))]),
     NOW, ("dnc_national",)),
    ("national list, revoked written consent does not exempt", {"brand": "acme"}, {},
     Spec(lists=[NATIONAL], consents=[consent(P, "express_written", OLD, revoked=OLD)]),
     NOW, ("dnc_national",)),
    ("state list of the number's state", {}, {}, Spec(lists=[("state", "NY", [P])]), NOW,
     ("dnc_state",)),
    ("state list of another state", {}, {}, Spec(lists=[("state", "NJ", [P])]), NOW, ()),
    ("state list, written consent exempts", {"brand": "acme"}, {},
     Spec(lists=[("state", "NY", [P])], consents=[WRITTEN]), NOW, ()),
    ("national data older than 31 days", {}, {"phone": P + 1},
     Spec(lists=[("national", "US", [P], NOW - timedelta(days=32))]), NOW, ("dnc_data_stale",)),
    ("national data 31 days old is fresh", {}, {"phone": P + 1},
     Spec(lists=[("national", "US", [P], NOW - timedelta(days=31))]), NOW, ()),
    ("stale national data, informational", {"call_type": "informational"}, {},
     Spec(lists=[("national", "US", [P], NOW - timedelta(days=40))]), NOW, ()),
    ("consent required, none", {"brand": "acme", "require_consent": True}, {}, Spec(), NOW,
     ("no_consent",)),
    ("consent required, written given", {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[WRITTEN]), NOW, ()),
    ("telemarketing needs written, express is not enough",
     {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express", OLD)]), NOW, ("no_consent",)),
    ("informational accepts express",
     {"brand": "acme", "require_consent": True, "call_type": "informational"}, {},
     Spec(consents=[consent(P, "express", OLD)]), NOW, ()),
    ("consent obtained later than now is not consent",
     {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", NOW + timedelta(hours=1))]), NOW,
     ("no_consent",)),
    ("consent revoked", {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", OLD, revoked=NOW)]), NOW,
     ("consent_revoked",)),
    ("consent revoked later still holds", {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", OLD, revoked=NOW + timedelta(seconds=1))]),
     NOW, ()),
    ("consent expired", {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", OLD, expires=NOW)]), NOW,
     ("consent_expired",)),
    ("one valid consent among revoked ones is enough",
     {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", OLD, revoked=OLD), WRITTEN]), NOW, ()),
    ("one revoked and one expired", {"brand": "acme", "require_consent": True}, {},
     Spec(consents=[consent(P, "express_written", OLD, revoked=OLD),
                    consent(P, "express_written", OLD, "campaign:sales", expires=OLD)]),
     NOW, ("consent_revoked", "consent_expired")),
    ("before 08:00", {}, {}, Spec(), utc(2026, 3, 4, 12, 59, 59), ("outside_calling_hours",)),
    ("campaign's narrower window", {"calling_hours": {"start": "13:00", "end": "17:00"}}, {},
     Spec(), NOW, ("outside_calling_hours",)),
    ("banned weekday", {"banned_weekdays": ["wed"]}, {}, Spec(), NOW, ("holiday",)),
    ("banned date", {"banned_dates": ["2026-03-04"]}, {}, Spec(), NOW, ("holiday",)),
    ("frequency cap reached", {"frequency_caps": [{"max": 2, "per": "24h"}]}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=3), False), (P, NOW - timedelta(hours=2), False)]),
     NOW, ("frequency_cap",)),
    ("frequency cap not reached", {"frequency_caps": [{"max": 3, "per": "24h"}]}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=3), False), (P, NOW - timedelta(hours=2), False)]),
     NOW, ()),
    ("attempts outside the cap's window do not count",
     {"frequency_caps": [{"max": 1, "per": "24h"}]}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=24), False)]), NOW, ()),
    ("Florida's three a day", {}, {"phone": 13055550100, "state": "FL"},
     Spec(attempts=[(13055550100, NOW - timedelta(hours=h), False) for h in (1, 2, 3)]),
     NOW, ("frequency_cap",)),
    ("New York has no state cap", {}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=h), False) for h in (1, 2, 3)]), NOW, ()),
    ("abandoned within the cooldown", {"abandon_cooldown": "72h"}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=71), True)]), NOW, ("abandon_cooldown",)),
    ("abandoned before the cooldown", {"abandon_cooldown": "72h"}, {},
     Spec(attempts=[(P, NOW - timedelta(hours=73), True)]), NOW, ()),
    ("campaign at its abandonment ceiling", {}, {},
     Spec(answers=answers("sales", NOW, live=100, abandoned=3)), NOW,
     ("campaign_abandon_limit",)),
    ("campaign under its ceiling", {}, {},
     Spec(answers=answers("sales", NOW, live=100, abandoned=2)), NOW, ()),
    ("another campaign's ledger does not count", {}, {},
     Spec(answers=answers("other", NOW, live=10, abandoned=5)), NOW, ()),
    # combinations: every blocking rule is listed
    ("internal, litigator and national together", {}, {},
     Spec(lists=[("internal", None, [P]), ("litigator", None, [P]), NATIONAL]), NOW,
     ("dnc_internal", "litigator", "dnc_national")),
    ("late, on a holiday, and over the cap",
     {"banned_dates": ["2026-03-04"], "frequency_caps": [{"max": 1, "per": "7d"}]}, {},
     Spec(attempts=[(P, NOW - timedelta(days=2), False)]), utc(2026, 3, 5, 2, 30),
     ("outside_calling_hours", "holiday", "frequency_cap")),
    ("no consent, stale data and cooldown", {"brand": "acme", "require_consent": True,
                                             "abandon_cooldown": "24h"}, {"phone": P + 1},
     Spec(lists=[("national", "US", [P], NOW - timedelta(days=40))],
          attempts=[(P + 1, NOW - timedelta(hours=1), True)]), NOW,
     ("dnc_data_stale", "no_consent", "abandon_cooldown")),
]


@pytest.mark.parametrize(("keys", "fkw", "spec", "now", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reason_codes_appear_exactly_when_their_rule_applies(keys, fkw, spec, now, expected):  # type: ignore[no-untyped-def]
    verdict = check(facts(**fkw), campaign(**keys), now, spec.build())
    assert verdict.reasons == expected
    assert verdict.allowed is (expected == ())
    assert {d.reason for d in verdict.details} == set(expected)


def test_agent_waiting_lifts_the_campaign_abandonment_ceiling() -> None:
    data = Spec(answers=answers("sales", NOW, live=10, abandoned=5)).build()
    assert check(facts(), campaign(), NOW, data).reasons == ("campaign_abandon_limit",)
    assert check(facts(), campaign(), NOW, data, agent_waiting=True).allowed


def test_no_data_means_filter_unavailable() -> None:
    assert check(facts(), campaign(), NOW, None).reasons == ("filter_unavailable",)


def test_verdict_json_lists_codes_and_details() -> None:
    data = Spec(lists=[("litigator", None, [P])], opt_outs=[P]).build()
    out = check(facts(), campaign(), NOW, data).to_json()
    assert out["allowed"] is False
    assert out["reasons"] == ["dnc_internal", "litigator"]
    assert [d["reason"] for d in out["details"]] == ["dnc_internal", "litigator"]
    assert out["details"][1]["ref"] == "litigator-all-1@v1"
