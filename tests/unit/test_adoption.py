"""Adopting a dead engine's calls, and settling those already gone: table-driven."""

from __future__ import annotations

import pytest

from dialer.core import commands as c
from dialer.core.adoption import Observed, adopt, settle
from dialer.core.call import CallPolicy, CallState
from dialer.core.events import AmdStatus

POLICY = CallPolicy(campaign="sales", connect_deadline=2.0, amd_timeout=8.0)
NOW = 100.0


def _seen(**fields: object) -> Observed:
    base: dict[str, object] = {"attempt_id": "a1", "phone": 12125550100, "up": True,
                               "in_stasis": True}
    return Observed(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(("seen", "state", "outcome"), [
    (_seen(up=False, in_stasis=False), CallState.DIALING, None),
    (_seen(in_stasis=False), CallState.ANSWERED, None),
    (_seen(agent="agent1", amd=AmdStatus.HUMAN), CallState.BRIDGED, "human"),
    (_seen(abandoned=True, amd=AmdStatus.HUMAN), CallState.HANGING_UP, "abandoned"),
    (_seen(amd=AmdStatus.MACHINE), CallState.HANGING_UP, "machine"),
    (_seen(amd=AmdStatus.HANGUP), CallState.HANGING_UP, "answer_hangup"),
    (_seen(amd=AmdStatus.HUMAN, live_since=NOW - 0.5), CallState.CONNECTING, None),
    (_seen(amd=AmdStatus.HUMAN, live_since=NOW - 5.0), CallState.SAFE_HARBOR, "abandoned"),
    (_seen(amd=None), CallState.SAFE_HARBOR, "abandoned"),
])
def test_a_call_found_in_asterisk_is_carried_on_from_where_it_is(
        seen: Observed, state: CallState, outcome: str | None) -> None:
    call, _ = adopt(seen, POLICY, NOW, give_up_after=50.0)
    assert (call.state, call.outcome) == (state, outcome)


def test_a_live_answer_whose_deadline_passed_hears_the_message_and_counts_abandoned() -> None:
    call, cmds = adopt(_seen(amd=AmdStatus.HUMAN, live_since=NOW - 9.0), POLICY, NOW, 50.0)
    assert call.abandoned and call.live
    assert any(isinstance(x, c.Play) and x.media == POLICY.safe_harbor for x in cmds)
    assert any(isinstance(x, c.LedgerAbandon) for x in cmds)
    assert any(isinstance(x, c.LedgerLiveAnswer) for x in cmds)


def test_a_live_answer_still_in_time_keeps_what_is_left_of_its_deadline() -> None:
    _, cmds = adopt(_seen(amd=AmdStatus.HUMAN, live_since=NOW - 0.5), POLICY, NOW, 50.0)
    assert c.StartTimer("a1", "connect_deadline", NOW + 1.5) in cmds


def test_a_ringing_call_is_given_up_if_nothing_more_is_heard() -> None:
    _, cmds = adopt(_seen(up=False, in_stasis=False), POLICY, NOW, give_up_after=50.0)
    assert cmds == [c.StartTimer("a1", "dial_timeout", NOW + 50.0)]


@pytest.mark.parametrize(("row", "settled"), [
    ({"answered": False, "amd": None, "live": False, "abandoned": False, "bridged": False},
     ("lost", False, False)),
    ({"answered": True, "amd": "HUMAN", "live": True, "abandoned": False, "bridged": True},
     ("human", True, False)),
    ({"answered": True, "amd": "HUMAN", "live": True, "abandoned": False, "bridged": False},
     ("abandoned", True, True)),
    ({"answered": True, "amd": None, "live": False, "abandoned": False, "bridged": False},
     ("abandoned", True, True)),
    ({"answered": True, "amd": "MACHINE", "live": False, "abandoned": False,
      "bridged": False}, ("machine", False, False)),
    ({"answered": True, "amd": "HANGUP", "live": False, "abandoned": False,
      "bridged": False}, ("answer_hangup", False, False)),
])
def test_an_attempt_whose_call_ended_unseen_is_settled_the_safe_way(
        row: dict[str, object], settled: tuple[str, bool, bool]) -> None:
    assert settle(**row) == settled  # type: ignore[arg-type]
