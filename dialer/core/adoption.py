"""Adopting a call the engine did not follow from its start: after a crash, the engine
that takes over finds the dead engine's calls still up in Asterisk and carries each on
from what Asterisk and the attempt's row say about it.

The rule of thumb is the safe reading. A call answered by somebody who may be a person,
and not with an agent, is a live answer waiting for one: it gets an agent if its connect
deadline still allows, else the safe-harbor message, and is counted abandoned.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dialer.core import commands as c
from dialer.core.call_actions import abandon
from dialer.core.call_model import Call, CallPolicy, CallState
from dialer.core.events import AmdStatus

S = CallState


@dataclass(frozen=True, slots=True)
class Observed:
    """A call found in Asterisk. ``up``: answered. ``in_stasis``: under the engine's
    control (not running AMD in the dialplan). ``amd``: AMD's verdict when known (from
    the Stasis arguments or the row). ``agent``: the agent whose holding bridge holds
    it. ``abandoned``: the row already counts it abandoned. ``live_since``: engine time
    of its live answer, when the row has it."""

    attempt_id: str
    phone: int
    up: bool
    in_stasis: bool
    amd: AmdStatus | None = None
    agent: str | None = None
    abandoned: bool = False
    live_since: float | None = None


def _live(call: Call, now: float) -> tuple[Call, list[c.Command]]:
    live = dataclasses.replace(call, live=True, live_at=call.live_at or now)
    return live, [c.RecordAttempt(call.attempt_id, (("live_answer", True),)),
                  c.LedgerLiveAnswer(call.attempt_id, call.policy.campaign, call.phone)]


def _hang_up(call: Call, outcome: str) -> tuple[Call, list[c.Command]]:
    return (dataclasses.replace(call, state=S.HANGING_UP, outcome=outcome),
            [c.HangupCall(call.attempt_id)])


def adopt(seen: Observed, policy: CallPolicy, now: float, give_up_after: float
          ) -> tuple[Call, list[c.Command]]:
    """The call as the engine now holds it, and what to do about it at once."""
    call = Call(seen.attempt_id, seen.phone, policy, live_at=seen.live_since)
    if not seen.up:
        return call, [c.StartTimer(call.attempt_id, "dial_timeout", now + give_up_after)]
    call = dataclasses.replace(call, answered_at=now)
    if seen.agent is not None:
        return dataclasses.replace(call, state=S.BRIDGED, agent=seen.agent, live=True,
                                   outcome="human"), []
    if seen.abandoned:
        return _hang_up(dataclasses.replace(call, live=True, abandoned=True), "abandoned")
    if not seen.in_stasis:
        timer = c.StartTimer(call.attempt_id, "amd_timeout", now + policy.amd_timeout)
        return dataclasses.replace(call, state=S.ANSWERED), [timer]
    return _screened(call, seen.amd, now)


def _screened(call: Call, amd: AmdStatus | None, now: float) -> tuple[Call, list[c.Command]]:
    if amd is AmdStatus.MACHINE:
        return _hang_up(call, "machine")
    if amd is AmdStatus.HANGUP:
        return _hang_up(call, "answer_hangup")
    live, cmds = _live(call, now)
    if call.policy.broadcast:
        done, hangup = _hang_up(live, "broadcast")
        return done, [*cmds, *hangup]
    if call.live_at is None or call.live_at + call.policy.connect_deadline <= now:
        late, more = abandon(live, None, now)
        return dataclasses.replace(late, state=S.SAFE_HARBOR), [*cmds, *more]
    deadline = call.live_at + call.policy.connect_deadline
    return (dataclasses.replace(live, state=S.CONNECTING),
            [*cmds, c.StartTimer(call.attempt_id, "connect_deadline", deadline)])


def settle(*, answered: bool, amd: str | None, live: bool, abandoned: bool,
           bridged: bool) -> tuple[str, bool, bool]:
    """(outcome, live answer, abandoned) of an attempt whose call ended while no engine
    followed it (a crash, an Asterisk restart). A person who answered and was not with
    an agent counts as abandoned; an answer whose AMD verdict was never heard counts as
    such a person."""
    if bridged:
        return "human", True, abandoned
    if abandoned or live:
        return "abandoned", True, True
    if not answered:
        return "lost", False, False
    if amd == AmdStatus.MACHINE.value:
        return "machine", False, False
    if amd == AmdStatus.HANGUP.value:
        return "answer_hangup", False, False
    return "abandoned", True, True
