"""The call state machine.

Every transition lives in :data:`TRANSITIONS`: ``(state, kind) -> (next state, action)``.
An event is first classified into a *kind* (``amd_live``, ``dtmf_optout``,
``timer:connect_deadline`` ...), because what a call does with AMD's verdict or a key
press depends on the verdict or the key. Actions are small pure functions that return
commands. A pair missing from the table is illegal and raises
:class:`~dialer.core.errors.IllegalTransition` naming the state and the event.
"""

from __future__ import annotations

import dataclasses

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.call_actions import (
    abandon,
    abandon_bridging,
    amd_hangup,
    answered,
    answered_unseen,
    await_key,
    bridge,
    bridge_failed,
    bridged,
    broadcast,
    dial_failed,
    dial_timed_out,
    ended,
    ended_no_amd,
    ended_waiting,
    greeting_silence,
    hang_up,
    hung_up_dialing,
    leave_message,
    live_answer,
    machine_hangup,
    machine_wait,
    opt_out,
    press1,
    stay,
    vanished_dialing,
    vanished_screening,
)
from dialer.core.call_model import (
    TIMERS,
    Action,
    AgentFound,
    Call,
    CallPolicy,
    CallState,
    GreetingEnded,
)
from dialer.core.errors import IllegalTransition

__all__ = ["TIMERS", "TRANSITIONS", "AgentFound", "Call", "CallPolicy", "CallState",
           "GreetingEnded", "classify", "greeting_silence", "step"]


S = CallState


# ------------------------------------------------------------------ classification



def classify(call: Call, event: object) -> str:
    """The kind of ``event`` for this call: the second half of a table key."""
    if isinstance(event, e.AmdDetected) or (
            isinstance(event, e.TimerFired) and event.name == "amd_timeout"):
        return _amd_kind(call, event)
    if isinstance(event, e.DtmfReceived):
        if event.digit == call.policy.optout_key:
            return "dtmf_optout"
        if call.policy.press1_key is not None and event.digit == call.policy.press1_key:
            return "dtmf_press1"
        return "dtmf_other"
    if isinstance(event, e.TimerFired):
        return f"timer:{event.name}"
    if isinstance(event, e.PlaybackFinished) and event.playback_id != call.playing:
        return "playback_stale"  # an earlier recording, stopped or overtaken
    if isinstance(event, e.CallVanished) and event.abandoned and call.state is S.DIALING:
        return "vanished_abandoned"  # the answer was never seen, the dialplan saw it
    return _KINDS.get(type(event), type(event).__name__)


def _amd_kind(call: Call, event: object) -> str:
    """amd_live[_broadcast], amd_machine[_message] or amd_hangup.

    NOTSURE and an AMD that never answers are treated as a person: a live answer
    that must reach an agent in time is the safe reading.
    """
    status = event.status if isinstance(event, e.AmdDetected) else e.AmdStatus.NOTSURE
    if status is e.AmdStatus.HANGUP:
        return "amd_hangup"
    if status is e.AmdStatus.MACHINE:
        leave = call.policy.machine_action == "message" and call.policy.machine_message
        return "amd_machine_message" if leave else "amd_machine"
    return "amd_live_broadcast" if call.policy.broadcast else "amd_live"


_KINDS: dict[type, str] = {
    e.OriginateFailed: "failed", e.CallAnswered: "answered", e.BridgeJoined: "bridge_joined",
    e.BridgeFailed: "bridge_failed", e.CallVanished: "vanished",
    e.PlaybackFinished: "playback_finished", e.CallHungUp: "hangup",
    AgentFound: "agent_found", GreetingEnded: "greeting_done",
}


# ------------------------------------------------------------------ the table

TRANSITIONS: dict[tuple[CallState, str], tuple[CallState, Action]] = {
    (S.DIALING, "failed"): (S.ENDED, dial_failed),
    (S.DIALING, "answered"): (S.ANSWERED, answered),
    (S.DIALING, "hangup"): (S.ENDED, hung_up_dialing),
    (S.DIALING, "timer:dial_timeout"): (S.ENDED, dial_timed_out),
    (S.ANSWERED, "amd_live"): (S.CONNECTING, live_answer),
    (S.ANSWERED, "amd_live_broadcast"): (S.BROADCAST, broadcast),
    (S.ANSWERED, "amd_machine"): (S.HANGING_UP, machine_hangup),
    (S.ANSWERED, "amd_machine_message"): (S.MACHINE_WAIT, machine_wait),
    (S.ANSWERED, "amd_hangup"): (S.HANGING_UP, amd_hangup),
    (S.ANSWERED, "hangup"): (S.ENDED, ended_no_amd),
    (S.CONNECTING, "agent_found"): (S.BRIDGING, bridge),
    (S.CONNECTING, "timer:connect_deadline"): (S.SAFE_HARBOR, abandon),
    (S.CONNECTING, "hangup"): (S.ENDED, ended_waiting),
    (S.BRIDGING, "bridge_joined"): (S.BRIDGED, bridged),
    (S.BRIDGING, "bridge_failed"): (S.CONNECTING, bridge_failed),
    (S.BRIDGING, "timer:connect_deadline"): (S.SAFE_HARBOR, abandon_bridging),
    (S.BRIDGING, "hangup"): (S.ENDED, ended_waiting),
    (S.BRIDGED, "hangup"): (S.ENDED, ended),
    (S.BRIDGED, "timer:connect_deadline"): (S.BRIDGED, stay),
    (S.SAFE_HARBOR, "dtmf_optout"): (S.OPT_OUT, opt_out),
    (S.SAFE_HARBOR, "playback_finished"): (S.SAFE_HARBOR, await_key),
    (S.SAFE_HARBOR, "timer:optout_wait"): (S.HANGING_UP, hang_up),
    (S.SAFE_HARBOR, "hangup"): (S.ENDED, ended),
    (S.MACHINE_WAIT, "timer:beep"): (S.MACHINE_MESSAGE, leave_message),
    (S.MACHINE_WAIT, "greeting_done"): (S.MACHINE_MESSAGE, leave_message),
    (S.MACHINE_WAIT, "hangup"): (S.ENDED, ended),
    (S.MACHINE_MESSAGE, "playback_finished"): (S.HANGING_UP, hang_up),
    (S.MACHINE_MESSAGE, "hangup"): (S.ENDED, ended),
    (S.BROADCAST, "dtmf_optout"): (S.OPT_OUT, opt_out),
    (S.BROADCAST, "dtmf_press1"): (S.CONNECTING, press1),
    (S.BROADCAST, "playback_finished"): (S.BROADCAST, await_key),
    (S.BROADCAST, "timer:optout_wait"): (S.HANGING_UP, hang_up),
    (S.BROADCAST, "hangup"): (S.ENDED, ended),
    (S.OPT_OUT, "playback_finished"): (S.HANGING_UP, hang_up),
    (S.OPT_OUT, "hangup"): (S.ENDED, ended),
    (S.HANGING_UP, "hangup"): (S.ENDED, ended),
}

# The AMD verdict can overtake a lost answer report (a reconnect in between).
for _kind, (_target, _then) in {
        "amd_live": (S.CONNECTING, live_answer), "amd_live_broadcast": (S.BROADCAST, broadcast),
        "amd_machine": (S.HANGING_UP, machine_hangup),
        "amd_machine_message": (S.MACHINE_WAIT, machine_wait),
        "amd_hangup": (S.HANGING_UP, amd_hangup)}.items():
    TRANSITIONS[(S.DIALING, _kind)] = (_target, answered_unseen(_then))

# Key presses that mean nothing, and events that may trail a state change, are legal
# and change nothing.
for _state in (S.ANSWERED, S.CONNECTING, S.BRIDGING, S.BRIDGED, S.SAFE_HARBOR,
               S.MACHINE_WAIT, S.MACHINE_MESSAGE, S.BROADCAST, S.OPT_OUT, S.HANGING_UP):
    TRANSITIONS.setdefault((_state, "dtmf_other"), (_state, stay))
    TRANSITIONS.setdefault((_state, "dtmf_press1"), (_state, stay))
    TRANSITIONS.setdefault((_state, "dtmf_optout"), (_state, stay))
    TRANSITIONS.setdefault((_state, "playback_finished"), (_state, stay))
    TRANSITIONS.setdefault((_state, "answered"), (_state, stay))
    TRANSITIONS.setdefault((_state, "playback_stale"), (_state, stay))
    TRANSITIONS.setdefault((_state, "timer:optout_wait"), (_state, stay))
    TRANSITIONS.setdefault((_state, "bridge_failed"), (_state, stay))
    TRANSITIONS.setdefault((_state, "bridge_joined"), (_state, stay))
for _state in (S.BRIDGED, S.OPT_OUT, S.HANGING_UP, S.SAFE_HARBOR):
    TRANSITIONS.setdefault((_state, "timer:connect_deadline"), (_state, stay))
TRANSITIONS[(S.CONNECTING, "dtmf_optout")] = (S.CONNECTING, stay)
# AMD's verdict can arrive twice (the FastAGI hook, then the Stasis args): the first wins.
for _state in (S.CONNECTING, S.BRIDGING, S.BRIDGED, S.SAFE_HARBOR, S.MACHINE_WAIT,
               S.MACHINE_MESSAGE, S.BROADCAST, S.OPT_OUT):
    for _kind in ("amd_live", "amd_live_broadcast", "amd_machine", "amd_machine_message",
                  "amd_hangup"):
        TRANSITIONS[(_state, _kind)] = (_state, stay)
TRANSITIONS[(S.BROADCAST, "timer:connect_deadline")] = (S.BROADCAST, stay)
TRANSITIONS[(S.HANGING_UP, "timer:beep")] = (S.HANGING_UP, stay)
for _state in (S.MACHINE_MESSAGE, S.HANGING_UP):
    TRANSITIONS[(_state, "greeting_done")] = (_state, stay)
for _kind in ("amd_live", "amd_live_broadcast", "amd_machine", "amd_machine_message",
              "amd_hangup"):
    TRANSITIONS[(S.HANGING_UP, _kind)] = (S.HANGING_UP, stay)
TRANSITIONS[(S.HANGING_UP, "bridge_joined")] = (S.HANGING_UP, stay)


# A call whose channel vanished ends as if hung up, read the safe way where it matters.
for (_state, _kind), _entry in list(TRANSITIONS.items()):
    if _kind == "hangup":
        TRANSITIONS[(_state, "vanished")] = _entry
TRANSITIONS[(S.DIALING, "vanished")] = (S.ENDED, vanished_dialing)
TRANSITIONS[(S.ANSWERED, "vanished")] = (S.ENDED, vanished_screening)
# ... and where the dialplan says a person was left alone, as an abandoned live answer.
TRANSITIONS[(S.DIALING, "vanished_abandoned")] = (S.ENDED, vanished_screening)


def step(call: Call, event: object, now: float) -> tuple[Call, list[c.Command]]:
    """Apply ``event`` at time ``now``: the new call and the commands to run."""
    kind = classify(call, event)
    entry = TRANSITIONS.get((call.state, kind))
    if entry is None:
        raise IllegalTransition("call", call.state.value, kind)
    target, action = entry
    new, cmds = action(call, event, now)
    return dataclasses.replace(new, state=target), cmds
