"""The agent state machine, table-driven."""

from __future__ import annotations

import pytest

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import (
    HUNG_UP,
    PHONE,
    TRANSITIONS,
    Agent,
    AgentState,
    CallBridged,
    CallFinished,
    CallLost,
    PhoneGiveUp,
    PhoneGraceOver,
    Reserve,
    TelephonyLost,
    WrapupExpired,
    step,
)
from dialer.core.errors import IllegalTransition

N = "agent1"
EVENTS = {
    "login": e.AgentLogin(N, "PJSIP/agent1"), "ready": e.AgentReady(N),
    "pause": e.AgentPause(N, "lunch"), "logout": e.AgentLogout(N),
    "phone_down": e.AgentPhoneDown(N), "disposition": e.AgentDisposition(N, "sale"),
    "reserve": Reserve(N, "a1"), "bridged": CallBridged(N), "call_lost": CallLost(N),
    "call_finished": CallFinished(N), "wrapup_expired": WrapupExpired(N),
    "phone_up": e.AgentPhoneUp(N), "phone_up_again": e.AgentPhoneUp(N),
    "phone_up_paused": e.AgentPhoneUp(N), "phone_lost": e.AgentPhoneLost(N),
    "phone_failed": e.AgentPhoneFailed(N), "phone_grace_over": PhoneGraceOver(N),
    "phone_giveup": PhoneGiveUp(N), "telephony_lost": TelephonyLost(N),
    "ready_once_phone_up": e.AgentReady(N), "phone_grace_over_stale": PhoneGraceOver(N),
    "telephony_lost_stale": TelephonyLost(N), "phone_giveup_stale": PhoneGiveUp(N),
}
# The pause reason (and reason to resume) an agent needs for an event to mean that kind.
SETUP: dict[str, tuple[str | None, str | None]] = {
    "phone_up": (PHONE, None), "phone_up_paused": (PHONE, "lunch"),
    "ready_once_phone_up": (PHONE, None), "phone_grace_over": (HUNG_UP, None),
    "telephony_lost": (HUNG_UP, None), "phone_giveup": (PHONE, None),
}


@pytest.mark.parametrize(("state", "kind"), sorted(TRANSITIONS), ids=lambda x: str(x))
def test_every_agent_transition_reaches_its_target(state: AgentState, kind: str) -> None:
    reason, resume = SETUP.get(kind, (None, None))
    agent = Agent(N, "PJSIP/agent1", state=state, pause_reason=reason, resume=resume)
    new, _ = step(agent, EVENTS[kind], now=5.0)
    assert new.state is TRANSITIONS[(state, kind)][0]


@pytest.mark.parametrize(("state", "kind"), [
    (AgentState.LOGGED_OUT, "ready"), (AgentState.TALKING, "logout"),
    (AgentState.PAUSED, "reserve"), (AgentState.RESERVED, "pause"),
    (AgentState.READY, "disposition"),
])
def test_illegal_agent_transition_names_state_and_event(state: AgentState, kind: str) -> None:
    with pytest.raises(IllegalTransition, match=f"agent: no transition from state "
                       f"'{state.value}' on event '{kind}'"):
        step(Agent(N, state=state), EVENTS[kind], now=0.0)


def test_login_calls_the_softphone_once_and_phone_up_makes_the_agent_ready() -> None:
    agent, cmds = step(Agent(N), e.AgentLogin(N, "PJSIP/agent1"), 1.0)
    assert agent.state is AgentState.PAUSED and agent.pause_reason == PHONE
    assert c.CallAgentPhone(N, "PJSIP/agent1") in cmds
    agent, cmds = step(agent, e.AgentPhoneUp(N), 2.0)
    assert (agent.state, agent.since) == (AgentState.READY, 2.0)
    assert c.AgentStateChanged(N, "paused", "ready", "phone_up") in cmds


def test_wrapup_has_a_maximum_after_which_the_agent_is_ready() -> None:
    agent = Agent(N, state=AgentState.TALKING, wrapup_max=30.0)
    agent, cmds = step(agent, CallFinished(N), 100.0)
    assert c.StartTimer("agent:agent1", "wrapup_max", 130.0) in cmds
    agent, _ = step(agent, WrapupExpired(N), 130.0)
    assert agent.state is AgentState.READY


def test_hanging_up_the_softphone_logs_the_agent_out_after_the_grace() -> None:
    agent, cmds = step(Agent(N, state=AgentState.READY, phone_grace=3.0),
                       e.AgentPhoneDown(N), 3.0)
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, HUNG_UP)
    assert c.StartTimer("agent:agent1", "phone_grace", 6.0) in cmds
    agent, cmds = step(agent, PhoneGraceOver(N), 6.0)
    assert agent.state is AgentState.LOGGED_OUT
    assert not [x for x in cmds if isinstance(x, c.HangupAgentPhone)]
    _, cmds = step(Agent(N, state=AgentState.READY), e.AgentLogout(N), 3.0)
    assert c.HangupAgentPhone(N) in cmds


def test_a_phone_taken_by_an_asterisk_restart_is_called_again_and_the_agent_resumes() -> None:
    agent = Agent(N, "PJSIP/agent1", state=AgentState.PAUSED, pause_reason="lunch")
    agent, _ = step(agent, e.AgentPhoneDown(N), 1.0)
    agent, cmds = step(agent, TelephonyLost(N), 1.5)
    assert (agent.pause_reason, agent.resume) == (PHONE, "lunch")
    assert c.CancelTimer("agent:agent1", "phone_grace") in cmds
    agent, cmds = step(agent, PhoneGraceOver(N), 4.0)
    assert agent.state is AgentState.PAUSED, "a stale grace timer must not log out"
    agent, cmds = step(agent, e.AgentPhoneLost(N), 9.0)
    assert c.CallAgentPhone(N, "PJSIP/agent1") in cmds
    agent, _ = step(agent, e.AgentPhoneUp(N), 9.5)
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, "lunch")


def test_a_ready_agent_whose_phone_is_missing_is_ready_again_once_it_answers() -> None:
    agent, cmds = step(Agent(N, "PJSIP/agent1", state=AgentState.READY),
                       e.AgentPhoneLost(N), 1.0)
    assert (agent.state, agent.pause_reason) == (AgentState.PAUSED, PHONE)
    assert c.CallAgentPhone(N, "PJSIP/agent1") in cmds
    agent, _ = step(agent, e.AgentReady(N), 1.2)
    assert agent.state is AgentState.PAUSED, "ready waits for the phone"
    agent, _ = step(agent, e.AgentPhoneUp(N), 1.5)
    assert agent.state is AgentState.READY


def test_a_phone_that_stays_unreachable_ends_the_session() -> None:
    agent, cmds = step(Agent(N, phone_giveup=60.0), e.AgentLogin(N, "PJSIP/agent1"), 1.0)
    assert c.StartTimer("agent:agent1", "phone_giveup", 61.0) in cmds
    agent, _ = step(agent, e.AgentPhoneFailed(N), 2.0)
    assert agent.state is AgentState.PAUSED
    agent, _ = step(agent, PhoneGiveUp(N), 61.0)
    assert agent.state is AgentState.LOGGED_OUT


def test_agent_who_dials_in_is_not_called_back() -> None:
    agent, cmds = step(Agent(N), e.AgentLogin(N, "PJSIP/agent1", dialed_in=True), 1.0)
    assert agent.state is AgentState.PAUSED and agent.pause_reason == PHONE
    assert not [x for x in cmds if isinstance(x, c.CallAgentPhone)]
