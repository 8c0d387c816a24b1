"""The call machine's actions: small pure functions that return the new call and the
commands to run. The table that picks them is in `call.py`."""

from __future__ import annotations

import dataclasses

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.call_model import TIMERS, Action, AgentFound, Call

_FAILURE_BY_CAUSE = {17: e.DialFailure.BUSY, 18: e.DialFailure.NO_ANSWER,
                     19: e.DialFailure.NO_ANSWER, 34: e.DialFailure.CONGESTION}
# Q.850 causes (Asterisk's texts) for failures whose report carried none.
_CAUSE_OF_FAILURE = {e.DialFailure.BUSY: (17, "User busy"),
                     e.DialFailure.NO_ANSWER: (19, "User alerting, no answer"),
                     e.DialFailure.CONGESTION: (34, "Circuit/channel congestion")}


def _record(call: Call, **fields: object) -> c.RecordAttempt:
    return c.RecordAttempt(call.attempt_id, tuple(fields.items()))


def _play(call: Call, media: str | None) -> tuple[Call, c.Play]:
    n = call.plays + 1
    playback = f"{call.attempt_id}:{n}"
    return (dataclasses.replace(call, plays=n, playing=playback),
            c.Play(call.attempt_id, media or "silence/1", playback))


def _cause(ev: object) -> dict[str, object]:
    """The hangup cause (code and text) an event tells, as attempt fields."""
    if isinstance(ev, e.CallHungUp):
        return {"hangup_cause": ev.cause, "hangup_cause_txt": ev.cause_txt}
    if isinstance(ev, e.OriginateFailed):
        if ev.cause:
            return {"hangup_cause": ev.cause, "hangup_cause_txt": ev.cause_txt or "Unknown"}
        known = _CAUSE_OF_FAILURE.get(ev.failure)
        if known is not None:
            return {"hangup_cause": known[0], "hangup_cause_txt": known[1]}
    return {}


def _end(call: Call, outcome: str, now: float, ev: object = None) -> list[c.Command]:
    return [_record(call, outcome=outcome, ended_at=now, abandoned=call.abandoned,
                    **_cause(ev)),
            c.CallEnded(call.attempt_id, outcome, call.agent, call.policy.campaign)]


def dial_failed(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, e.OriginateFailed)
    outcome = ev.failure.value
    return dataclasses.replace(call, outcome=outcome), _end(call, outcome, now, ev)


def hung_up_dialing(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    assert isinstance(ev, e.CallHungUp)
    outcome = _FAILURE_BY_CAUSE.get(ev.cause, e.DialFailure.FAILED).value
    return dataclasses.replace(call, outcome=outcome), _end(call, outcome, now, ev)


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
                  c.LedgerLiveAnswer(call.attempt_id, call.policy.campaign, call.phone)]


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


def bridge_failed(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The agent's bridge refused the call: it waits for another agent, and its
    connect deadline keeps running."""
    return dataclasses.replace(call, agent=None), [_record(call, agent=None)]


def bridged(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return dataclasses.replace(call, outcome="human"), [
        c.CancelTimer(call.attempt_id, "connect_deadline"), _record(call, bridged_at=now)]


def abandon(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """No agent in time: safe-harbor message, counted in the ledgers."""
    call = dataclasses.replace(call, abandoned=True, outcome="abandoned")
    call, play = _play(call, call.policy.safe_harbor)
    return call, [play, c.LedgerAbandon(call.attempt_id, call.policy.campaign, call.phone),
                  _record(call, abandoned=True)]


def abandon_bridging(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The deadline passed while joining the agent's bridge: the call is taken out of
    the bridge (should the join still land) and abandoned like any other."""
    assert call.agent is not None
    leave = c.LeaveBridge(call.attempt_id, call.agent)
    done, cmds = abandon(dataclasses.replace(call, agent=None), ev, now)
    return done, [leave, _record(call, agent=None), *cmds]


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
    return dataclasses.replace(call, outcome=outcome), [*cmds, *_end(call, outcome, now, ev)]


def ended_waiting(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """The person hung up before an agent came (or while joining one): counted as
    abandoned, to be safe."""
    call = dataclasses.replace(call, abandoned=True, outcome="abandoned")
    extra = [c.LedgerAbandon(call.attempt_id, call.policy.campaign, call.phone)]
    done, cmds = ended(call, ev, now)
    return done, [*extra, *cmds]


def vanished_dialing(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """Gone while ringing: whether the phone was answered is not known."""
    return dataclasses.replace(call, outcome="lost"), [
        c.CancelTimer(call.attempt_id, "dial_timeout"), *_end(call, "lost", now)]


def vanished_screening(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """Gone while AMD listened: AMD may have heard a person, who was then left without
    an agent; counted as a live answer abandoned, to be safe."""
    call = dataclasses.replace(call, live=True, live_at=now)
    live: list[c.Command] = [
        _record(call, live_answer=True),
        c.LedgerLiveAnswer(call.attempt_id, call.policy.campaign, call.phone)]
    done, cmds = ended_waiting(call, ev, now)
    return done, [*live, *cmds]


def ended_no_amd(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    """Hung up during AMD: no AMDResult ever comes (AMDSTATUS=HANGUP)."""
    return ended(dataclasses.replace(call, outcome=call.outcome or "answer_hangup"), ev, now)


def stay(call: Call, ev: object, now: float) -> tuple[Call, list[c.Command]]:
    return call, []
