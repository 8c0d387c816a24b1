"""The call state machine.

Every transition lives in :data:`TRANSITIONS`: ``(state, kind) -> (next state, action)``.
An event is first classified into a *kind* (``amd_human``, ``dtmf_optout``,
``timer:connect_deadline`` ...), because what a call does with AMD's verdict or a key
press depends on the verdict or the key. Actions are small pure functions that return
commands. A pair missing from the table is illegal and raises
:class:`~dialer.core.errors.IllegalTransition` naming the state and the event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.errors import IllegalTransition


class CallState(StrEnum):
    DIALING = "dialing"
    ANSWERED = "answered"          # waiting for AMD's verdict
    CONNECTING = "connecting"      # a live answer waiting for an agent (2 s deadline)
    BRIDGING = "bridging"          # an agent was chosen; joining the agent's bridge
    BRIDGED = "bridged"
    SAFE_HARBOR = "safe_harbor"    # abandoned: the safe-harbor message plays
    MACHINE_WAIT = "machine_wait"  # waiting for the end of the greeting / the beep
    MACHINE_MESSAGE = "machine_message"
    BROADCAST = "broadcast"
    OPT_OUT = "opt_out"            # the opt-out confirmation plays
    HANGING_UP = "hanging_up"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """What a campaign decides about a call once it is answered."""

    campaign: str
    connect_deadline: float = 2.0
    machine_action: str = "hangup"     # hangup | message
    broadcast: bool = False
    safe_harbor: str = "dialer/safe-harbor"
    machine_message: str | None = None
    broadcast_message: str | None = None
    optout_confirm: str = "dialer/optout-confirmed"
    optout_key: str = "9"
    press1_key: str | None = None
    amd_timeout: float = 8.0
    beep_wait: float = 12.0
    optout_wait: float = 3.0


@dataclass(frozen=True, slots=True)
class Call:
    attempt_id: str
    phone: int
    policy: CallPolicy
    state: CallState = CallState.DIALING
    outcome: str | None = None
    agent: str | None = None
    live: bool = False
    abandoned: bool = False
    answered_at: float | None = None
    live_at: float | None = None
    plays: int = 0
    playing: str | None = None


Action = Callable[[Call, object, float], tuple[Call, list[c.Command]]]
TIMERS = ("dial_timeout", "amd_timeout", "connect_deadline", "beep", "optout_wait")
S = CallState


# ------------------------------------------------------------------ classification

_FAILURE_BY_CAUSE = {17: e.DialFailure.BUSY, 18: e.DialFailure.NO_ANSWER,
                     19: e.DialFailure.NO_ANSWER, 34: e.DialFailure.CONGESTION}


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
    return _KINDS.get(type(event), type(event).__name__)


@dataclass(frozen=True, slots=True)
class AgentFound:
    """Engine-internal: an agent was chosen for a waiting live answer."""

    attempt_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class GreetingEnded:
    """The machine's greeting ended (talk detection); leave the message now."""

    attempt_id: str


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
    e.PlaybackFinished: "playback_finished", e.CallHungUp: "hangup",
    AgentFound: "agent_found", GreetingEnded: "greeting_done",
}


# ------------------------------------------------------------------ actions

def _record(call: Call, **fields: object) -> c.RecordAttempt:
    return c.RecordAttempt(call.attempt_id, tuple(fields.items()))


def _play(call: Call, media: str | None) -> tuple[Call, c.Play]:
    n = call.plays + 1
    playback = f"{call.attempt_id}:{n}"
    return (dataclasses.replace(call, plays=n, playing=playback),
            c.Play(call.attempt_id, media or "silence/1", playback))


def _end(call: Call, outcome: str, now: float) -> list[c.Command]:
    return [_record(call, outcome=outcome, ended_at=now, abandoned=call.abandoned),
            c.CallEnded(call.attempt_id, outcome, call.agent)]


def dial_failed(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, e.OriginateFailed)
    return dataclasses.replace(call, outcome=ev.failure.value), _end(call, ev.failure.value, now)


def hung_up_dialing(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, e.CallHungUp)
    outcome = _FAILURE_BY_CAUSE.get(ev.cause, e.DialFailure.FAILED).value
    return dataclasses.replace(call, outcome=outcome), _end(call, outcome, now)


def answered(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, e.CallAnswered)
    return dataclasses.replace(call, answered_at=now), [
        c.CancelTimer(call.attempt_id, "dial_timeout"),
        _record(call, answered_at=now, channel=ev.channel),
        c.StartTimer(call.attempt_id, "amd_timeout", now + call.policy.amd_timeout)]


def answered_unseen(then: Action) -> Action:
    """AMD's verdict while still dialing: the answer was not seen (its report was lost
    with a connection), so the call is taken as answered now, then ``then`` applies."""
    def action(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
        seen = dataclasses.replace(call, answered_at=now)
        first: list[c.Command] = [c.CancelTimer(call.attempt_id, "dial_timeout"),
                                  _record(call, answered_at=now)]
        done, cmds = then(seen, ev, now)
        return done, first + cmds
    return action


def dial_timed_out(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """No word of the call long after its ring timeout: it is given up as failed."""
    return dataclasses.replace(call, outcome="failed"), [
        c.HangupCall(call.attempt_id), *_end(call, "failed", now)]


def _amd_fields(call: Call, ev: object, now: float) -> c.RecordAttempt:
    status = ev.status.value if isinstance(ev, e.AmdDetected) else "NOTSURE"
    cause = ev.cause if isinstance(ev, e.AmdDetected) else "TIMEOUT"
    return _record(call, amd_status=status, amd_cause=cause, amd_at=now)


def _live(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    call = dataclasses.replace(call, live=True, live_at=now)
    return call, [c.CancelTimer(call.attempt_id, "amd_timeout"), _amd_fields(call, ev, now),
                  _record(call, live_answer=True),
                  c.LedgerLiveAnswer(call.attempt_id, call.policy.campaign)]


def greeting_silence(ev: object) -> float:
    """Seconds AMD listened to silence after the greeting before it said HUMAN.

    The cause is ``HUMAN-<total silence ms>-<after-greeting silence ms>``; the greeting
    ended that long before the verdict, and the 2-second rule counts from there.
    """
    if not isinstance(ev, e.AmdDetected) or not ev.cause.startswith("HUMAN-"):
        return 0.0
    tail = ev.cause.rsplit("-", 1)[-1]
    return int(tail) / 1000.0 if tail.isdigit() else 0.0


def live_answer(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """A person: an agent must be connected within the connect deadline, counted from
    the end of their greeting (AMD's trailing silence is already spent)."""
    call, cmds = _live(call, ev, now)
    spent = min(greeting_silence(ev), call.policy.connect_deadline * 0.75)
    return call, [*cmds, _deadline(call, now - spent)]


def broadcast(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """A person on a broadcast campaign hears the message at once."""
    call, cmds = _live(call, ev, now)
    call, play = _play(call, call.policy.broadcast_message)
    return call, [*cmds, play]


def _deadline(call: Call, now: float) -> c.StartTimer:
    return c.StartTimer(call.attempt_id, "connect_deadline", now + call.policy.connect_deadline)


def press1(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    stop = [c.StopPlayback(call.attempt_id, call.playing)] if call.playing else []
    return dataclasses.replace(call, live_at=now, playing=None), [
        *stop, c.CancelTimer(call.attempt_id, "optout_wait"), _deadline(call, now)]


def _machine(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return (dataclasses.replace(call, outcome="machine"),
            [c.CancelTimer(call.attempt_id, "amd_timeout"), _amd_fields(call, ev, now)])


def machine_hangup(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    call, cmds = _machine(call, ev, now)
    return call, [*cmds, c.HangupCall(call.attempt_id, "normal")]


def machine_wait(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """Leave the message when the greeting ends (talk detection), or at the latest
    after ``beep_wait``."""
    call, cmds = _machine(call, ev, now)
    return call, [*cmds, c.DetectTalk(call.attempt_id),
                  c.StartTimer(call.attempt_id, "beep", now + call.policy.beep_wait)]


def amd_hangup(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return (dataclasses.replace(call, outcome="answer_hangup"),
            [c.CancelTimer(call.attempt_id, "amd_timeout"), _amd_fields(call, ev, now)])


def leave_message(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    call, play = _play(call, call.policy.machine_message)
    return call, [c.CancelTimer(call.attempt_id, "beep"), play]


def bridge(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, AgentFound)
    call = dataclasses.replace(call, agent=ev.agent)
    return call, [c.BridgeToAgent(call.attempt_id, ev.agent), _record(call, agent=ev.agent)]


def bridged(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return dataclasses.replace(call, outcome="human"), [
        c.CancelTimer(call.attempt_id, "connect_deadline"), _record(call, bridged_at=now)]


def abandon(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """No agent in time: safe-harbor message, counted in the ledgers."""
    call = dataclasses.replace(call, abandoned=True, outcome="abandoned")
    call, play = _play(call, call.policy.safe_harbor)
    return call, [play, c.LedgerAbandon(call.attempt_id, call.policy.campaign, call.phone),
                  _record(call, abandoned=True)]


def opt_out(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The opt-out key: the number is blocked at once; the message in progress stops
    and the confirmation plays."""
    stop = [c.StopPlayback(call.attempt_id, call.playing)] if call.playing else []
    call = dataclasses.replace(call, outcome=call.outcome if call.abandoned else "optout")
    call, play = _play(call, call.policy.optout_confirm)
    return call, [c.AddOptOut(call.attempt_id, call.phone), *stop,
                  c.CancelTimer(call.attempt_id, "optout_wait"), play]


def await_key(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The message offering the opt-out key has played: the key stays open a moment."""
    done = dataclasses.replace(call, playing=None)
    return done, [c.StartTimer(call.attempt_id, "optout_wait", now + call.policy.optout_wait)]


def hang_up(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    outcome = call.outcome or ("broadcast" if call.policy.broadcast else "human")
    return dataclasses.replace(call, outcome=outcome), [c.HangupCall(call.attempt_id)]


def ended(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    outcome = call.outcome or ("broadcast" if call.policy.broadcast else "human")
    cmds: list[c.Command] = [c.CancelTimer(call.attempt_id, t) for t in TIMERS]
    return dataclasses.replace(call, outcome=outcome), [*cmds, *_end(call, outcome, now)]


def ended_waiting(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The person hung up before an agent came: counted as abandoned, to be safe."""
    call = dataclasses.replace(call, abandoned=True, outcome="abandoned")
    extra = [c.LedgerAbandon(call.attempt_id, call.policy.campaign, call.phone)]
    done, cmds = ended(call, ev, now)
    return done, [*extra, *cmds]


def ended_no_amd(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """Hung up during AMD: no AMDResult ever comes (AMDSTATUS=HANGUP)."""
    return ended(dataclasses.replace(call, outcome=call.outcome or "answer_hangup"), ev, now)


def stay(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return call, []


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
    (S.BRIDGING, "timer:connect_deadline"): (S.BRIDGING, stay),
    (S.BRIDGING, "hangup"): (S.ENDED, ended),
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


def step(call: Call, event: object, now: float) -> tuple[Call, list[c.Command]]:
    """Apply ``event`` at time ``now``: the new call and the commands to run."""
    kind = classify(call, event)
    entry = TRANSITIONS.get((call.state, kind))
    if entry is None:
        raise IllegalTransition("call", call.state.value, kind)
    target, action = entry
    new, cmds = action(call, event, now)
    return dataclasses.replace(new, state=target), cmds
