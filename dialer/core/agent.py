"""The agent state machine: logged-out, ready, reserved, talking, wrap-up, paused.

An agent logs in with a softphone endpoint; the engine calls that phone once and keeps
the channel in the agent's own holding bridge ("nailed up"). Until the phone answers,
the agent is paused with the reason ``phone``. Every transition is in
:data:`TRANSITIONS`; anything else raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.errors import IllegalTransition

PHONE = "phone"  # pause reason while the softphone is being called


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    endpoint: str = ""
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    pause_reason: str | None = None
    attempt_id: str | None = None
    wrapup_max: float = 120.0


@dataclass(frozen=True, slots=True)
class Reserve:
    """Engine-internal: the agent is chosen for a live answer."""

    agent: str
    attempt_id: str


@dataclass(frozen=True, slots=True)
class CallBridged:
    agent: str


@dataclass(frozen=True, slots=True)
class CallLost:
    """The reserved call ended before it reached the agent."""

    agent: str


@dataclass(frozen=True, slots=True)
class CallFinished:
    agent: str


@dataclass(frozen=True, slots=True)
class WrapupExpired:
    agent: str


Action = Callable[[Agent, object, float], tuple[Agent, list[c.Command]]]
A = AgentState

_KINDS: dict[type, str] = {
    e.AgentLogin: "login", e.AgentReady: "ready", e.AgentPause: "pause",
    e.AgentLogout: "logout", e.AgentPhoneDown: "phone_down",
    e.AgentDisposition: "disposition", Reserve: "reserve", CallBridged: "bridged",
    CallLost: "call_lost", CallFinished: "call_finished", WrapupExpired: "wrapup_expired",
}


def classify(agent: Agent, event: object) -> str:
    if isinstance(event, e.AgentPhoneUp):
        return "phone_up" if agent.pause_reason == PHONE else "phone_up_again"
    return _KINDS.get(type(event), type(event).__name__)


def timer_key(agent: str) -> str:
    return f"agent:{agent}"


def login(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, e.AgentLogin)
    agent = dataclasses.replace(agent, endpoint=ev.endpoint, pause_reason=PHONE)
    if ev.dialed_in:
        return agent, []
    return agent, [c.CallAgentPhone(agent.name, ev.endpoint)]


def ready(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None), []


def pause(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, e.AgentPause)
    return dataclasses.replace(agent, pause_reason=ev.reason or "break"), []


def reserve(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, Reserve)
    return dataclasses.replace(agent, attempt_id=ev.attempt_id), []


def wrap_up(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return agent, [c.StartTimer(timer_key(agent.name), "wrapup_max", now + agent.wrapup_max)]


def disposed(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    cmds: list[c.Command] = [c.CancelTimer(timer_key(agent.name), "wrapup_max")]
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None), cmds


def pause_in_wrapup(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    paused, _ = pause(agent, ev, now)
    return dataclasses.replace(paused, attempt_id=None), [
        c.CancelTimer(timer_key(agent.name), "wrapup_max")]


def logout(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    cmds: list[c.Command] = [c.CancelTimer(timer_key(agent.name), "wrapup_max")]
    if not isinstance(ev, e.AgentPhoneDown):
        cmds.append(c.HangupAgentPhone(agent.name))
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None), cmds


def stay(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return agent, []


TRANSITIONS: dict[tuple[AgentState, str], tuple[AgentState, Action]] = {
    (A.LOGGED_OUT, "login"): (A.PAUSED, login),
    (A.PAUSED, "phone_up"): (A.READY, ready),
    (A.PAUSED, "ready"): (A.READY, ready),
    (A.PAUSED, "pause"): (A.PAUSED, pause),
    (A.PAUSED, "logout"): (A.LOGGED_OUT, logout),
    (A.PAUSED, "phone_down"): (A.LOGGED_OUT, logout),
    (A.READY, "pause"): (A.PAUSED, pause),
    (A.READY, "ready"): (A.READY, stay),
    (A.READY, "reserve"): (A.RESERVED, reserve),
    (A.READY, "logout"): (A.LOGGED_OUT, logout),
    (A.READY, "phone_down"): (A.LOGGED_OUT, logout),
    (A.RESERVED, "bridged"): (A.TALKING, stay),
    (A.RESERVED, "call_lost"): (A.READY, ready),
    (A.RESERVED, "phone_down"): (A.LOGGED_OUT, logout),
    (A.TALKING, "call_finished"): (A.WRAP_UP, wrap_up),
    (A.TALKING, "phone_down"): (A.LOGGED_OUT, logout),
    (A.WRAP_UP, "disposition"): (A.READY, disposed),
    (A.WRAP_UP, "wrapup_expired"): (A.READY, disposed),
    (A.WRAP_UP, "ready"): (A.READY, disposed),
    (A.WRAP_UP, "pause"): (A.PAUSED, pause_in_wrapup),
    (A.WRAP_UP, "logout"): (A.LOGGED_OUT, logout),
    (A.WRAP_UP, "phone_down"): (A.LOGGED_OUT, logout),
}
for _state in (A.READY, A.RESERVED, A.TALKING, A.WRAP_UP, A.PAUSED):
    TRANSITIONS[(_state, "phone_up_again")] = (_state, stay)


def step(agent: Agent, event: object, now: float) -> tuple[Agent, list[c.Command]]:
    """Apply ``event``; the agent's ``since`` restarts whenever its state changes."""
    kind = classify(agent, event)
    entry = TRANSITIONS.get((agent.state, kind))
    if entry is None:
        raise IllegalTransition("agent", agent.state.value, kind)
    target, action = entry
    new, cmds = action(agent, event, now)
    if target is not agent.state:
        new = dataclasses.replace(new, state=target, since=now)
        cmds.append(c.AgentStateChanged(agent.name, agent.state.value, target.value, kind))
    return new, cmds
