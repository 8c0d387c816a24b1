"""The call state machine, table-driven: every transition, the commands that matter,
and illegal transitions."""

from __future__ import annotations

import dataclasses

import pytest

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.call import (
    TRANSITIONS,
    AgentFound,
    Call,
    CallPolicy,
    CallState,
    GreetingEnded,
    step,
)
from dialer.core.errors import IllegalTransition

A = "attempt-1"
POLICY = CallPolicy(campaign="sales", machine_action="message", machine_message="vm",
                    broadcast_message="bc", press1_key="1")


def policy_for(kind: str) -> CallPolicy:
    if kind == "amd_live_broadcast":
        return dataclasses.replace(POLICY, broadcast=True)
    if kind == "amd_machine":
        return dataclasses.replace(POLICY, machine_action="hangup")
    return POLICY


EVENTS = {
    "failed": e.OriginateFailed(A, e.DialFailure.BUSY),
    "answered": e.CallAnswered(A, "Local/5550100@carrier-sim-00000001;1"),
    "hangup": e.CallHungUp(A, 16),
    "amd_live": e.AmdDetected(A, e.AmdStatus.HUMAN, "HUMAN-800-800"),
    "amd_live_broadcast": e.AmdDetected(A, e.AmdStatus.HUMAN, "HUMAN-800-800"),
    "amd_machine": e.AmdDetected(A, e.AmdStatus.MACHINE, "MAXWORDS-3-2"),
    "amd_machine_message": e.AmdDetected(A, e.AmdStatus.MACHINE, "MAXWORDS-3-2"),
    "amd_hangup": e.AmdDetected(A, e.AmdStatus.HANGUP),
    "agent_found": AgentFound(A, "agent1"),
    "bridge_joined": e.BridgeJoined(A),
    "bridge_failed": e.BridgeFailed(A),
    "vanished": e.CallVanished(A),
    "vanished_abandoned": e.CallVanished(A, abandoned=True),
    "playback_finished": e.PlaybackFinished(A, "p"),
    "playback_stale": e.PlaybackFinished(A, "an-earlier-one"),
    "dtmf_optout": e.DtmfReceived(A, "9"),
    "dtmf_press1": e.DtmfReceived(A, "1"),
    "dtmf_other": e.DtmfReceived(A, "5"),
    "greeting_done": GreetingEnded(A),
}


def event_for(kind: str) -> object:
    if kind.startswith("timer:"):
        return e.TimerFired(A, kind.removeprefix("timer:"))
    return EVENTS[kind]


@pytest.mark.parametrize(("state", "kind"), sorted(TRANSITIONS), ids=lambda x: str(x))
def test_every_transition_in_the_table_reaches_its_target(state: CallState, kind: str) -> None:
    agent = "agent1" if state in (CallState.BRIDGING, CallState.BRIDGED) else None
    call = Call(A, 12125550100, policy_for(kind), state=state, playing="p", agent=agent)
    new, _ = step(call, event_for(kind), now=10.0)
    assert new.state is TRANSITIONS[(state, kind)][0]


@pytest.mark.parametrize(("state", "kind"), [
    (CallState.DIALING, "bridge_joined"),
    (CallState.DIALING, "dtmf_optout"),
    (CallState.ENDED, "hangup"),
    (CallState.BRIDGED, "agent_found"),
    (CallState.CONNECTING, "failed"),
])
def test_illegal_transition_names_state_and_event(state: CallState, kind: str) -> None:
    with pytest.raises(IllegalTransition, match=f"call: no transition from state "
                       f"'{state.value}' on event '{kind}'"):
        step(Call(A, 1, POLICY, state=state), event_for(kind), now=0.0)


def run(call: Call, *events: tuple[float, object]) -> tuple[Call, list[c.Command]]:
    out: list[c.Command] = []
    for now, ev in events:
        call, cmds = step(call, ev, now)
        out.extend(cmds)
    return call, out


def of(cmds: list[c.Command], kind: type) -> list:
    return [x for x in cmds if isinstance(x, kind)]


def test_busy_ends_the_call_with_outcome_busy() -> None:
    call, cmds = run(Call(A, 1, POLICY), (1.0, e.OriginateFailed(A, e.DialFailure.BUSY)))
    assert call.state is CallState.ENDED
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "busy", None, "sales")]


def test_hangup_while_dialing_reads_the_cause() -> None:
    call, _ = run(Call(A, 1, POLICY), (1.0, e.CallHungUp(A, 19, "No user responding")))
    assert call.outcome == "no_answer"


@pytest.mark.parametrize(("event", "cause"), [
    (e.OriginateFailed(A, e.DialFailure.BUSY), (17, "User busy")),
    (e.OriginateFailed(A, e.DialFailure.CONGESTION), (34, "Circuit/channel congestion")),
    (e.OriginateFailed(A, e.DialFailure.NO_ANSWER), (19, "User alerting, no answer")),
    (e.OriginateFailed(A, e.DialFailure.FAILED, 3, "No route to destination"),
     (3, "No route to destination")),
    (e.CallHungUp(A, 16, "Normal Clearing"), (16, "Normal Clearing")),
])
def test_every_ending_records_its_hangup_cause(event: object, cause: tuple[int, str]) -> None:
    call = Call(A, 1, POLICY)
    if isinstance(event, e.CallHungUp):
        call, _ = run(call, (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                      (3.5, AgentFound(A, "agent1")), (3.6, EVENTS["bridge_joined"]))
    _, cmds = step(call, event, 9.0)
    fields = {k: v for r in of(cmds, c.RecordAttempt) for k, v in r.fields}
    assert (fields["hangup_cause"], fields["hangup_cause_txt"]) == cause


def test_live_answer_deadline_counts_from_the_end_of_the_greeting() -> None:
    # HUMAN-800-800: AMD heard 0.8 s of silence after the greeting before deciding.
    call, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (3.2, EVENTS["amd_live"]))
    assert call.state is CallState.CONNECTING and call.live
    assert c.StartTimer(A, "connect_deadline", pytest.approx(4.4)) in cmds
    assert of(cmds, c.LedgerLiveAnswer) == [c.LedgerLiveAnswer(A, "sales", 1)]


def test_live_answer_without_a_silence_figure_gets_the_whole_deadline() -> None:
    _, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]),
                  (3.0, e.AmdDetected(A, e.AmdStatus.NOTSURE, "TOOLONG-5000")))
    assert c.StartTimer(A, "connect_deadline", 5.0) in cmds


def test_human_bridged_to_agent_ends_as_human_and_frees_the_agent() -> None:
    call, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                     (3.01, AgentFound(A, "agent1")), (3.02, e.BridgeJoined(A)),
                     (40.0, e.CallHungUp(A)))
    assert of(cmds, c.BridgeToAgent) == [c.BridgeToAgent(A, "agent1")]
    assert c.CancelTimer(A, "connect_deadline") in cmds
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "human", "agent1", "sales")]
    assert not call.abandoned


def test_no_agent_in_time_plays_safe_harbor_and_is_abandoned() -> None:
    call, cmds = run(Call(A, 7, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                     (5.0, e.TimerFired(A, "connect_deadline")))
    assert call.state is CallState.SAFE_HARBOR and call.abandoned
    assert [p.media for p in of(cmds, c.Play)] == ["dialer/safe-harbor"]
    assert of(cmds, c.LedgerAbandon) == [c.LedgerAbandon(A, "sales", 7)]
    call, cmds = run(call, (6.0, e.PlaybackFinished(A, f"{A}:1")))
    assert call.state is CallState.SAFE_HARBOR  # the opt-out key stays open a moment
    assert c.StartTimer(A, "optout_wait", 9.0) in cmds
    call, cmds = run(call, (9.0, e.TimerFired(A, "optout_wait")), (9.1, e.CallHungUp(A)))
    assert of(cmds, c.HangupCall) == [c.HangupCall(A)]
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "abandoned", None, "sales")]


def test_opt_out_stops_the_message_and_an_earlier_playback_end_does_not_hang_up() -> None:
    call, cmds = run(Call(A, 7, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                     (5.0, e.TimerFired(A, "connect_deadline")), (5.5, e.DtmfReceived(A, "9")),
                     (5.6, e.PlaybackFinished(A, f"{A}:1")))
    assert c.StopPlayback(A, f"{A}:1") in cmds
    assert call.state is CallState.OPT_OUT
    call, cmds = run(call, (7.0, e.PlaybackFinished(A, f"{A}:2")))
    assert call.state is CallState.HANGING_UP and of(cmds, c.HangupCall)


def test_opt_out_key_during_safe_harbor_adds_the_number_and_confirms() -> None:
    call, cmds = run(Call(A, 7, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                     (5.0, e.TimerFired(A, "connect_deadline")), (5.5, e.DtmfReceived(A, "9")))
    assert call.state is CallState.OPT_OUT
    assert of(cmds, c.AddOptOut) == [c.AddOptOut(A, 7)]
    assert of(cmds, c.Play)[-1].media == "dialer/optout-confirmed"


def test_machine_with_a_message_waits_for_the_beep_then_plays_it() -> None:
    call, cmds = run(Call(A, 4, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_machine"]),
                     (15.0, e.TimerFired(A, "beep")), (30.0, e.PlaybackFinished(A, f"{A}:1")),
                     (30.1, e.CallHungUp(A)))
    assert [p.media for p in of(cmds, c.Play)] == ["vm"]
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "machine", None, "sales")]
    assert not call.live


def test_machine_without_a_message_is_hung_up_at_once() -> None:
    pol = dataclasses.replace(POLICY, machine_action="hangup")
    _, cmds = run(Call(A, 4, pol), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_machine"]))
    assert of(cmds, c.HangupCall) == [c.HangupCall(A, "normal")]


def test_hangup_during_amd_without_a_result_is_answer_hangup() -> None:
    _, cmds = run(Call(A, 9, POLICY), (1.0, EVENTS["answered"]), (2.0, e.CallHungUp(A)))
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "answer_hangup", None, "sales")]


def test_amd_that_never_answers_is_treated_as_a_live_answer() -> None:
    call, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]),
                     (9.0, e.TimerFired(A, "amd_timeout")))
    assert call.state is CallState.CONNECTING
    assert ("amd_status", "NOTSURE") in of(cmds, c.RecordAttempt)[-2].fields


def test_broadcast_plays_the_message_and_press1_reaches_an_agent() -> None:
    pol = dataclasses.replace(POLICY, broadcast=True)
    call, cmds = run(Call(A, 1, pol), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]))
    assert call.state is CallState.BROADCAST
    assert [p.media for p in of(cmds, c.Play)] == ["bc"]
    call, cmds = run(call, (8.0, e.DtmfReceived(A, "1")))
    assert call.state is CallState.CONNECTING
    assert c.StartTimer(A, "connect_deadline", 10.0) in cmds


def test_customer_hanging_up_while_waiting_for_an_agent_counts_as_abandoned() -> None:
    call, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                     (4.0, e.CallHungUp(A)))
    assert call.abandoned
    assert of(cmds, c.LedgerAbandon) and of(cmds, c.CallEnded)[0].outcome == "abandoned"


def test_a_second_amd_report_after_the_first_changes_nothing() -> None:
    call, _ = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]))
    again, cmds = step(call, EVENTS["amd_live"], 3.1)
    assert (again, cmds) == (call, [])


def test_amd_verdict_while_still_dialing_means_the_answer_report_was_lost() -> None:
    call, cmds = run(Call(A, 1, POLICY), (3.0, EVENTS["amd_live"]))
    assert call.state is CallState.CONNECTING and call.answered_at == 3.0
    assert c.CancelTimer(A, "dial_timeout") in cmds


def test_an_attempt_never_heard_of_again_is_given_up_as_failed() -> None:
    call, cmds = run(Call(A, 1, POLICY), (50.0, e.TimerFired(A, "dial_timeout")))
    assert call.state is CallState.ENDED
    assert of(cmds, c.CallEnded) == [c.CallEnded(A, "failed", None, "sales")]
    assert of(cmds, c.HangupCall) == [c.HangupCall(A)]


def _bridging() -> Call:
    call, _ = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (3.0, EVENTS["amd_live"]),
                  (3.1, AgentFound(A, "agent1")))
    assert call.state is CallState.BRIDGING
    return call


def test_connect_deadline_while_joining_the_agent_abandons_and_leaves_the_bridge() -> None:
    call, cmds = step(_bridging(), e.TimerFired(A, "connect_deadline"), 5.0)
    assert (call.state, call.abandoned, call.agent) == (CallState.SAFE_HARBOR, True, None)
    assert of(cmds, c.LeaveBridge) == [c.LeaveBridge(A, "agent1")]
    assert of(cmds, c.LedgerAbandon) and of(cmds, c.Play)[0].media == POLICY.safe_harbor


def test_hangup_while_joining_the_agent_counts_as_abandoned() -> None:
    call, cmds = step(_bridging(), e.CallHungUp(A), 3.2)
    assert call.abandoned and of(cmds, c.CallEnded)[0].outcome == "abandoned"


def test_a_refused_bridge_puts_the_call_back_to_wait_for_another_agent() -> None:
    call, cmds = step(_bridging(), e.BridgeFailed(A), 3.2)
    assert (call.state, call.agent) == (CallState.CONNECTING, None)
    assert not of(cmds, c.CancelTimer), "the connect deadline keeps running"


def test_a_call_gone_from_asterisk_during_amd_counts_as_an_abandoned_live_answer() -> None:
    call, cmds = run(Call(A, 1, POLICY), (1.0, EVENTS["answered"]), (2.0, e.CallVanished(A)))
    assert (call.state, call.abandoned, call.live) == (CallState.ENDED, True, True)
    assert of(cmds, c.LedgerLiveAnswer) and of(cmds, c.LedgerAbandon)


def test_a_call_gone_while_ringing_is_lost_not_failed() -> None:
    _, cmds = run(Call(A, 1, POLICY), (2.0, e.CallVanished(A)))
    assert of(cmds, c.CallEnded)[0].outcome == "lost"


def test_a_call_the_dialplan_says_was_answered_alone_is_an_abandoned_live_answer() -> None:
    call, cmds = run(Call(A, 1, POLICY), (2.0, e.CallVanished(A, abandoned=True)))
    assert (call.abandoned, call.live) == (True, True)
    assert of(cmds, c.CallEnded)[0].outcome == "abandoned"
