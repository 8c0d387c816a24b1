"""The retry policy: pure decisions, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.campaigns import RetryRules
from dialer.core.retry import RetryDecision, decide_retry, defer_blocked, is_temporary
from dialer.schema import Seconds

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
RULES = RetryRules()  # busy 10 min, no answer 2 h, ... max 5 attempts


@pytest.mark.parametrize(("outcome", "delay"), [
    ("busy", timedelta(minutes=10)),
    ("no_answer", timedelta(hours=2)),
    ("congestion", timedelta(minutes=30)),
    ("failed", timedelta(hours=1)),
    ("machine", timedelta(hours=4)),
    ("answer_hangup", timedelta(hours=1)),
    ("abandoned", timedelta(days=3)),
])
def test_unfinished_outcome_is_retried_after_its_delay(outcome: str, delay: timedelta) -> None:
    assert decide_retry(outcome, 0, RULES, NOW) == RetryDecision("retry", NOW + delay)


@pytest.mark.parametrize("outcome", ["human", "optout", "broadcast", "blocked"])
def test_final_outcome_ends_the_lead(outcome: str) -> None:
    decision = decide_retry(outcome, 0, RULES, NOW)
    assert (decision.status, decision.next_attempt_at) == ("done", None)


@pytest.mark.parametrize(("attempts_so_far", "status"), [(0, "retry"), (3, "retry"),
                                                         (4, "done"), (9, "done")])
def test_lead_is_done_once_max_attempts_is_reached(attempts_so_far: int, status: str) -> None:
    assert decide_retry("busy", attempts_so_far, RULES, NOW).status == status


def test_campaign_delays_are_used() -> None:
    rules = RetryRules(busy=Seconds(120), max_attempts=2)
    assert decide_retry("busy", 0, rules, NOW).next_attempt_at == NOW + timedelta(minutes=2)
    assert decide_retry("busy", 1, rules, NOW).status == "done"


def test_canceled_attempt_is_put_back_without_counting() -> None:
    assert decide_retry("canceled", 4, RULES, NOW) == RetryDecision("deferred", NOW,
                                                                     counts=False)


def test_unknown_outcome_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'ringing'"):
        decide_retry("ringing", 0, RULES, NOW)


@pytest.mark.parametrize(("reasons", "wait"), [
    (("outside_calling_hours",), timedelta(minutes=30)),
    (("frequency_cap",), timedelta(hours=1)),
    (("abandon_cooldown",), timedelta(hours=1)),
    (("filter_unavailable",), timedelta(minutes=1)),
    (("campaign_abandon_limit",), timedelta(minutes=15)),
    (("holiday",), timedelta(hours=6)),
    (("outside_calling_hours", "frequency_cap"), timedelta(hours=1)),
])
def test_temporary_block_is_deferred_without_counting(reasons: tuple[str, ...],
                                                      wait: timedelta) -> None:
    assert defer_blocked(reasons, NOW) == RetryDecision("deferred", NOW + wait, counts=False)


@pytest.mark.parametrize("reasons", [
    ("dnc_national",), ("dnc_state",), ("dnc_internal",), ("dnc_campaign",), ("litigator",),
    ("invalid_number",), ("no_consent",), ("consent_revoked",), ("consent_expired",),
    ("outside_calling_hours", "dnc_national"),
])
def test_lasting_block_ends_the_lead(reasons: tuple[str, ...]) -> None:
    assert defer_blocked(reasons, NOW) == RetryDecision("done", None, counts=False)
    assert not is_temporary(reasons)


def test_block_resumes_when_the_calling_window_opens() -> None:
    opens = NOW + timedelta(hours=9)
    decision = defer_blocked(["outside_calling_hours"], NOW, resume_at=opens)
    assert decision.next_attempt_at == opens
    early = defer_blocked(["outside_calling_hours"], NOW, resume_at=NOW)
    assert early.next_attempt_at == NOW + timedelta(minutes=30)


def test_block_without_reasons_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        defer_blocked([], NOW)


def test_decision_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="'retry'"):
        RetryDecision("retry", None)
    with pytest.raises(ValueError, match="'done'"):
        RetryDecision("done", NOW)
