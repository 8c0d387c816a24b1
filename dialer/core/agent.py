"""The agent state machine: logged-out, ready, reserved, talking, wrap-up, paused.

An agent logs in with a softphone endpoint for one campaign; the engine calls that phone
once and keeps the channel in the agent's own holding bridge ("nailed up"). Until the
phone answers, the agent is paused with the reason ``phone``. When the phone channel
ends, the agent is paused with the reason ``hung_up`` and logged out after a short
grace, unless Asterisk itself went away meanwhile (a restart hangs every phone up): then
the phone is called again once Asterisk is back, and the agent returns to what they were
doing (ready, or paused for their own reason). Every transition is in
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

PHONE = "phone"      # pause reason while the softphone is being called
HUNG_UP = "hung_up"  # pause reason between the phone's end and the logout
PHONE_REASONS = (PHONE, HUNG_UP)
AGENT_TIMERS = ("wrapup_max", "phone_grace", "phone_giveup")


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Agent:
    """``resume``: the pause reason to go back to once the phone is up again (None:
    ready). ``campaign``: the one campaign the agent serves (None: any)."""

    name: str
    endpoint: str = ""
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    pause_reason: str | None = None
    attempt_id: str | None = None
    wrapup_max: float = 120.0
    campaign: str | None = None
    resume: str | None = None
    phone_grace: float = 5.0
    phone_giveup: float = 120.0

    def serves(self, campaign: str) -> bool:
        return self.campaign is None or self.campaign == campaign


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
    """The reserved call ended (or gave up) before it reached the agent."""

    agent: str


@dataclass(frozen=True, slots=True)
class CallFinished:
    agent: str


@dataclass(frozen=True, slots=True)
class WrapupExpired:
    agent: str


@dataclass(frozen=True, slots=True)
class PhoneGraceOver:
    """The phone went down a while ago and Asterisk stayed up: the agent hung up."""

    agent: str


@dataclass(frozen=True, slots=True)
class PhoneGiveUp:
    """The phone could not be reached for ``phone_giveup`` seconds."""

    agent: str


@dataclass(frozen=True, slots=True)
class TelephonyLost:
    """Engine-internal: the connection to Asterisk dropped (one per agent)."""

    agent: str


TIMER_EVENTS: dict[str, type] = {"wrapup_max": WrapupExpired, "phone_grace": PhoneGraceOver,
                                 "phone_giveup": PhoneGiveUp}


Action = Callable[[Agent, object, float], tuple[Agent, list[c.Command]]]
A = AgentState

_KINDS: dict[type, str] = {
    e.AgentLogin: "login", e.AgentReady: "ready", e.AgentPause: "pause",
    e.AgentLogout: "logout", e.AgentPhoneDown: "phone_down", e.AgentPhoneLost: "phone_lost",
    e.AgentPhoneFailed: "phone_failed", e.AgentDisposition: "disposition",
    Reserve: "reserve", CallBridged: "bridged", CallLost: "call_lost",
    CallFinished: "call_finished", WrapupExpired: "wrapup_expired",
    PhoneGraceOver: "phone_grace_over", PhoneGiveUp: "phone_giveup",
    TelephonyLost: "telephony_lost",
}


def classify(agent: Agent, event: object) -> str:
    if isinstance(event, e.AgentPhoneUp):
        if agent.pause_reason != PHONE:
            return "phone_up_again"
        return "phone_up" if agent.resume is None else "phone_up_paused"
    kind = _KINDS.get(type(event), type(event).__name__)
    if kind == "ready" and agent.pause_reason in PHONE_REASONS:
        return "ready_once_phone_up"
    if kind in ("phone_grace_over", "telephony_lost") and agent.pause_reason != HUNG_UP:
        return f"{kind}_stale"
    if kind == "phone_giveup" and agent.pause_reason != PHONE:
        return "phone_giveup_stale"
    return kind


def timer_key(agent: str) -> str:
    return f"agent:{agent}"


def _timer(agent: Agent, name: str, at: float) -> c.StartTimer:
    return c.StartTimer(timer_key(agent.name), name, at)


def _cancel(agent: Agent, *names: str) -> list[c.Command]:
    return [c.CancelTimer(timer_key(agent.name), n) for n in names]


def _own_reason(agent: Agent) -> str | None:
    """The pause reason the agent chose, to come back to after a phone problem."""
    if agent.state is AgentState.PAUSED:
        return agent.resume if agent.pause_reason in PHONE_REASONS else agent.pause_reason
    return None


def login(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, e.AgentLogin)
    agent = dataclasses.replace(agent, endpoint=ev.endpoint, pause_reason=PHONE,
                                campaign=ev.campaign, resume=None, attempt_id=None)
    if ev.dialed_in:
        return agent, []
    return agent, [c.CallAgentPhone(agent.name, ev.endpoint),
                   _timer(agent, "phone_giveup", now + agent.phone_giveup)]


def ready(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None, resume=None), []


def ready_later(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    """Ready asked while the phone is being called: ready once it answers."""
    return dataclasses.replace(agent, resume=None), []


def phone_up(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    back = dataclasses.replace(agent, pause_reason=agent.resume, attempt_id=None, resume=None)
    return back, _cancel(agent, "phone_giveup")


def pause(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, e.AgentPause)
    if agent.pause_reason in PHONE_REASONS:  # keep waiting for the phone; then pause
        return dataclasses.replace(agent, resume=ev.reason or "break"), []
    return dataclasses.replace(agent, pause_reason=ev.reason or "break"), []


def reserve(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    assert isinstance(ev, Reserve)
    return dataclasses.replace(agent, attempt_id=ev.attempt_id), []


def wrap_up(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return agent, [_timer(agent, "wrapup_max", now + agent.wrapup_max)]


def disposed(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None), \
        _cancel(agent, "wrapup_max")


def pause_in_wrapup(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    paused, _ = pause(agent, ev, now)
    return dataclasses.replace(paused, attempt_id=None), _cancel(agent, "wrapup_max")


def logout(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    cmds = _cancel(agent, *AGENT_TIMERS)
    if not isinstance(ev, PhoneGraceOver):
        cmds.append(c.HangupAgentPhone(agent.name))
    return dataclasses.replace(agent, pause_reason=None, attempt_id=None, resume=None), cmds


def hung_up(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    """The phone channel ended: wait a moment before taking it as a logout."""
    cmds = [*_cancel(agent, "wrapup_max", "phone_giveup"),
            _timer(agent, "phone_grace", now + agent.phone_grace)]
    return dataclasses.replace(agent, pause_reason=HUNG_UP, attempt_id=None,
                               resume=_own_reason(agent)), cmds


def redial_later(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    """Asterisk went away right after the phone did: call it again once Asterisk is back."""
    return dataclasses.replace(agent, pause_reason=PHONE), [
        *_cancel(agent, "phone_grace"), _timer(agent, "phone_giveup", now + agent.phone_giveup)]


def redial(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    """The phone or its bridge is missing in Asterisk: call the phone again."""
    cmds = [*_cancel(agent, "wrapup_max", "phone_grace", "phone_giveup"),
            c.CallAgentPhone(agent.name, agent.endpoint),
            _timer(agent, "phone_giveup", now + agent.phone_giveup)]
    return dataclasses.replace(agent, pause_reason=PHONE, attempt_id=None,
                               resume=_own_reason(agent)), cmds


def stay(agent: Agent, ev: object, now: float) -> tuple[Agent, list[c.Command]]:
    return agent, []


TRANSITIONS: dict[tuple[AgentState, str], tuple[AgentState, Action]] = {
    (A.LOGGED_OUT, "login"): (A.PAUSED, login),
    (A.PAUSED, "phone_up"): (A.READY, phone_up),
    (A.PAUSED, "phone_up_paused"): (A.PAUSED, phone_up),
    (A.PAUSED, "ready"): (A.READY, ready),
    (A.PAUSED, "ready_once_phone_up"): (A.PAUSED, ready_later),
    (A.PAUSED, "pause"): (A.PAUSED, pause),
    (A.PAUSED, "logout"): (A.LOGGED_OUT, logout),
    (A.PAUSED, "phone_grace_over"): (A.LOGGED_OUT, logout),
    (A.PAUSED, "phone_giveup"): (A.LOGGED_OUT, logout),
    (A.PAUSED, "telephony_lost"): (A.PAUSED, redial_later),
    (A.READY, "pause"): (A.PAUSED, pause),
    (A.READY, "ready"): (A.READY, stay),
    (A.READY, "reserve"): (A.RESERVED, reserve),
    (A.READY, "logout"): (A.LOGGED_OUT, logout),
    (A.RESERVED, "bridged"): (A.TALKING, stay),
    (A.RESERVED, "call_lost"): (A.READY, ready),
    (A.TALKING, "call_finished"): (A.WRAP_UP, wrap_up),
    (A.WRAP_UP, "disposition"): (A.READY, disposed),
    (A.WRAP_UP, "wrapup_expired"): (A.READY, disposed),
    (A.WRAP_UP, "ready"): (A.READY, disposed),
    (A.WRAP_UP, "pause"): (A.PAUSED, pause_in_wrapup),
    (A.WRAP_UP, "logout"): (A.LOGGED_OUT, logout),
}
_LOGGED_IN = (A.READY, A.RESERVED, A.TALKING, A.WRAP_UP, A.PAUSED)
for _state in _LOGGED_IN:
    TRANSITIONS[(_state, "phone_up_again")] = (_state, stay)
    TRANSITIONS[(_state, "phone_down")] = (A.PAUSED, hung_up)
    TRANSITIONS[(_state, "phone_lost")] = (A.PAUSED, redial)
    TRANSITIONS[(_state, "phone_failed")] = (_state, stay)
    for _kind in ("phone_grace_over_stale", "telephony_lost_stale", "phone_giveup_stale"):
        TRANSITIONS[(_state, _kind)] = (_state, stay)
# Late news about a phone of an agent already logged out changes nothing.
for _kind in ("phone_down", "phone_lost", "phone_failed", "phone_up_again",
              "phone_grace_over_stale", "telephony_lost_stale", "phone_giveup_stale"):
    TRANSITIONS[(A.LOGGED_OUT, _kind)] = (A.LOGGED_OUT, stay)


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
