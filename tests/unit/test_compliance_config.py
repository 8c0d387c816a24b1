"""Campaign compliance keys and the rules table: parsed strictly, never looser than law."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from dialer.core.compliance import (
    COMPLIANCE_KEYS,
    lead_facts,
    number_facts,
    parse_campaign_rules,
    parse_rules_table,
    rules_for,
    window_for,
)
from dialer.core.compliance.places import STATE_ZONES, zip_state
from dialer.core.errors import ConfigError


def parse(**keys):  # type: ignore[no-untyped-def]
    return parse_campaign_rules(keys, "campaigns.sales")


def test_defaults_are_the_law_of_the_us() -> None:
    rules = parse()
    assert (rules.name, rules.region, rules.call_type) == ("sales", "US", "telemarketing")
    assert rules.effective_target() == 0.03
    assert rules.effective_window().length == timedelta(days=30)
    assert rules.overrides == ()


def test_every_documented_key_is_parsed() -> None:
    rules = parse(region="US", brand="acme", call_type="informational", require_consent=True,
                  calling_hours={"start": "09:00", "end": "20:00"}, banned_weekdays=["sun"],
                  banned_dates=["2026-12-25"], frequency_caps=[{"max": 2, "per": "7d"}],
                  abandon_cooldown="72h", abandon_target=0.02, abandon_window="30d",
                  override=False)
    assert rules.calling_hours is not None and rules.calling_hours.start == time(9)
    assert rules.banned_weekdays == frozenset({6})
    assert rules.frequency_caps[0].per == timedelta(days=7)
    assert rules.abandon_cooldown == timedelta(hours=72)
    assert rules.scopes == frozenset({"campaign:sales", "brand:acme"})
    assert set(COMPLIANCE_KEYS) >= {"region", "brand", "override", "abandon_window"}


@pytest.mark.parametrize(("keys", "path", "words"), [
    ({"ring": 3}, "campaigns.sales.ring", "unknown key"),
    ({"call_type": "sales"}, "campaigns.sales.call_type", "telemarketing or informational"),
    ({"require_consent": "yes"}, "campaigns.sales.require_consent", "true or false"),
    ({"calling_hours": {"start": "8am", "end": "20:00"}}, "campaigns.sales.calling_hours",
     "HH:MM"),
    ({"calling_hours": {"start": "10:00"}}, "campaigns.sales.calling_hours.end", "missing"),
    ({"calling_hours": {"start": "18:00", "end": "09:00"}}, "campaigns.sales.calling_hours",
     "after the start"),
    ({"banned_weekdays": ["funday"]}, "campaigns.sales.banned_weekdays[0]", "weekday"),
    ({"banned_dates": ["2026-02-30"]}, "campaigns.sales.banned_dates[0]", "YYYY-MM-DD"),
    ({"frequency_caps": [{"max": 0, "per": "24h"}]}, "campaigns.sales.frequency_caps[0].max",
     "at least 1"),
    ({"frequency_caps": [{"max": 3, "per": "1w"}]}, "campaigns.sales.frequency_caps[0].per",
     "duration"),
    ({"abandon_cooldown": "3 days"}, "campaigns.sales.abandon_cooldown", "duration"),
    ({"abandon_target": 1.5}, "campaigns.sales.abandon_target", "fraction"),
    ({"region": "ZZ"}, "campaigns.sales.region", "no rules table"),
    ({"calling_hours": {"start": "07:00", "end": "20:00"}}, "campaigns.sales.calling_hours",
     "override: true"),
    ({"abandon_target": 0.05}, "campaigns.sales.abandon_target", "override: true"),
    ({"abandon_window": "60d"}, "campaigns.sales.abandon_window", "override: true"),
])
def test_bad_or_looser_values_name_their_key_path(keys, path, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        parse_campaign_rules(keys, "campaigns.sales")
    assert err.value.path == path
    assert words in err.value.message


def test_override_allows_a_looser_value_and_says_which() -> None:
    rules = parse(calling_hours={"start": "07:00", "end": "22:00"}, abandon_target=0.05,
                  override=True)
    assert rules.overrides == ("calling_hours", "abandon_target")
    window = window_for(rules, "FL", 2)
    assert window is not None and (window.start, window.end) == (time(7), time(22))


def test_campaign_window_narrows_the_state_window() -> None:
    rules = parse(calling_hours={"start": "09:30", "end": "20:30"})
    window = window_for(rules, "FL", 0)
    assert window is not None and (window.start, window.end) == (time(9, 30), time(20))


def test_uk_cooldown_cannot_be_shortened_without_override() -> None:
    with pytest.raises(ConfigError, match="abandon_cooldown"):
        parse(region="GB", abandon_cooldown="24h")
    assert parse(region="GB").effective_cooldown() == timedelta(hours=72)


def test_shipped_tables_parse_and_hold_the_cited_numbers() -> None:
    us = rules_for("US")
    assert us.abandon_target == 0.03 and us.national_list_max_age == timedelta(days=31)
    assert {s for s, r in us.states.items() if r.frequency_caps} == {"FL", "OK", "MD"}
    assert rules_for("CA").abandon_window.kind == "month"
    assert rules_for("GB").abandon_cooldown == timedelta(hours=72)


def test_rules_table_from_config_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError) as err:
        parse_rules_table({"region": "US", "curfew": 1}, "compliance.rules")
    assert err.value.path == "compliance.rules.curfew"


def test_rules_table_can_express_hours_per_weekday() -> None:
    raw = {"region": "XX", "calling_hours": {"default": ["09:00", "21:00"], "sun": None},
           "abandon_target": 0.03, "abandon_window": "calendar_day",
           "national_list_max_age": "31d"}
    table = parse_rules_table(raw, "rules")
    assert table.base.hours[6] is None and table.base.hours[0] is not None
    assert table.abandon_window.kind == "day"


@pytest.mark.parametrize(("zip_code", "state"), [
    ("10001", "NY"), ("33101", "FL"), ("94103", "CA"), ("73301", "TX"), ("05501", "MA"),
    ("99501", "AK"), ("00901", "PR"), ("20500", "DC"), ("abc", None), ("", None),
])
def test_zip_prefix_gives_the_state(zip_code, state) -> None:  # type: ignore[no-untyped-def]
    assert zip_state(zip_code) == state


def test_every_zip_state_has_time_zones() -> None:
    from dialer.core.compliance.places import ZIP3_RANGES

    assert {s for _, _, s in ZIP3_RANGES} <= set(STATE_ZONES)


def test_number_facts_for_invalid_and_foreign_numbers() -> None:
    assert number_facts("not a number", "US").valid is False
    assert number_facts("+15555550100", "US").valid is False
    canadian = number_facts("+14165550100", "US")
    assert (canadian.valid, canadian.country) == (False, "CA")
    ok = number_facts(12125550100, "US")
    assert (ok.valid, ok.e164, ok.state) == (True, 12125550100, "NY")


def test_unknown_lead_state_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown US state code 'XQ'"):
        number_facts("+12125550100", "US", state="XQ")


def test_lead_facts_rebuild_import_facts_without_parsing() -> None:
    imported = number_facts("+13055550100", "US")
    again = lead_facts(imported.e164, "US", None, list(imported.time_zones))
    assert again == imported
    assert lead_facts(13055550100, "US", None, []).valid is False
    assert lead_facts(13055550100, "US", "ny", ["America/New_York"]).state == "NY"
