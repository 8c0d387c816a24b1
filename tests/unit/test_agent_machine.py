"""The agent state machine, table-driven."""

from __future__ import annotations

import pytest

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import (
    PHONE,
    TRANSITIONS,
    Agent,
    AgentState,
    CallBridged,
    CallFinished,
    CallLost,
    Reserve,
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
}


@pytest.mark.parametrize(("state", "kind"), sorted(TRANSITIONS), ids=lambda x: str(x))
def test_every_agent_transition_reaches_its_target(state: AgentState, kind: str) -> None:
    reason = PHONE if kind == "phone_up" else None
    agent = Agent(N, "PJSIP/agent1", state=state, pause_reason=reason)
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


def test_hanging_up_the_softphone_logs_the_agent_out_without_hanging_up_again() -> None:
    agent, cmds = step(Agent(N, state=AgentState.READY), e.AgentPhoneDown(N), 3.0)
    assert agent.state is AgentState.LOGGED_OUT
    assert not [x for x in cmds if isinstance(x, c.HangupAgentPhone)]
    _, cmds = step(Agent(N, state=AgentState.READY), e.AgentLogout(N), 3.0)
    assert c.HangupAgentPhone(N) in cmds


def test_agent_who_dials_in_is_not_called_back() -> None:
    agent, cmds = step(Agent(N), e.AgentLogin(N, "PJSIP/agent1", dialed_in=True), 1.0)
    assert agent.state is AgentState.PAUSED and agent.pause_reason == PHONE
    assert not [x for x in cmds if isinstance(x, c.CallAgentPhone)]
