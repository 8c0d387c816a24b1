"""Engine.handle: calls meet agents; pure, no event loop."""

from __future__ import annotations

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.core.call import CallPolicy, CallState
from dialer.core.campaign import Engine

POLICY = CallPolicy(campaign="sales")


def order(aid: str, phone: int = 12125550100) -> c.Originate:
    return c.Originate(aid, "sales", phone, f"Local/{phone}@carrier", "+12125550100", 20.0,
                       "ami")


def login(engine: Engine, name: str, now: float) -> None:
    engine.handle(e.AgentLogin(name, f"PJSIP/{name}"), now)
    engine.handle(e.AgentPhoneUp(name), now)


def answer_human(engine: Engine, aid: str, now: float) -> list[c.Command]:
    engine.originate(order(aid), POLICY, now)
    cmds = engine.handle(e.CallAnswered(aid, "chan"), now + 1)
    return cmds + engine.handle(e.AmdDetected(aid, e.AmdStatus.HUMAN, "HUMAN-800-800"), now + 3)


def test_live_answer_goes_to_the_longest_idle_ready_agent() -> None:
    engine = Engine()
    login(engine, "b", 5.0)
    login(engine, "a", 1.0)
    cmds = answer_human(engine, "x1", 10.0)
    assert [x for x in cmds if isinstance(x, c.BridgeToAgent)] == [c.BridgeToAgent("x1", "a")]
    assert engine.agents["a"].state is AgentState.RESERVED
    engine.handle(e.BridgeJoined("x1"), 13.1)
    assert engine.agents["a"].state is AgentState.TALKING
    engine.handle(e.CallHungUp("x1"), 60.0)
    assert engine.agents["a"].state is AgentState.WRAP_UP
    assert engine.stats.ended == {"human": 1}


def test_waiting_live_answer_is_taken_by_the_next_agent_to_become_ready() -> None:
    engine = Engine()
    answer_human(engine, "x1", 0.0)
    assert engine.waiting == ["x1"]
    engine.handle(e.AgentLogin("a", "PJSIP/a"), 3.5)
    cmds = engine.handle(e.AgentPhoneUp("a"), 4.0)
    assert c.BridgeToAgent("x1", "a") in cmds
    assert engine.calls["x1"].state is CallState.BRIDGING


def test_deadline_without_agent_abandons_and_late_events_are_dropped() -> None:
    engine = Engine()
    answer_human(engine, "x1", 0.0)
    cmds = engine.handle(e.TimerFired("x1", "connect_deadline"), 5.0)
    assert any(isinstance(x, c.LedgerAbandon) for x in cmds)
    assert engine.waiting == []
    engine.handle(e.CallHungUp("x1"), 9.0)
    assert engine.handle(e.PlaybackFinished("x1", "late"), 9.5) == []
    assert engine.stats.abandoned == 1 and engine.stats.live_answers == 1


def test_customer_gone_before_the_bridge_makes_the_reserved_agent_ready_again() -> None:
    engine = Engine()
    login(engine, "a", 0.0)
    answer_human(engine, "x1", 1.0)
    engine.handle(e.CallHungUp("x1"), 4.1)
    assert engine.agents["a"].state is AgentState.READY


def test_wrapup_timer_of_an_agent_makes_it_ready() -> None:
    engine = Engine(wrapup_max=30.0)
    login(engine, "a", 0.0)
    answer_human(engine, "x1", 1.0)
    engine.handle(e.BridgeJoined("x1"), 4.1)
    cmds = engine.handle(e.CallHungUp("x1"), 50.0)
    assert c.StartTimer("agent:a", "wrapup_max", 80.0) in cmds
    engine.handle(e.TimerFired("agent:a", "wrapup_max"), 80.0)
    assert engine.agents["a"].state is AgentState.READY


def test_agent_phone_down_mid_call_logs_out_and_hangs_up_the_customer() -> None:
    engine = Engine(phone_grace=2.0)
    login(engine, "a", 0.0)
    answer_human(engine, "x1", 1.0)
    engine.handle(e.BridgeJoined("x1"), 4.1)
    cmds = engine.handle(e.AgentPhoneDown("a"), 10.0)
    assert c.HangupCall("x1", "normal") in cmds
    cmds += engine.handle(e.TimerFired("agent:a", "phone_grace"), 12.0)
    assert engine.agents["a"].state is AgentState.LOGGED_OUT
    assert not any(isinstance(x, c.HangupAgentPhone) for x in cmds)


def test_phones_lost_with_asterisk_are_called_again_not_logged_out() -> None:
    engine = Engine(phone_grace=2.0)
    login(engine, "a", 0.0)
    engine.handle(e.AgentPhoneDown("a"), 10.0)
    engine.handle(e.TelephonyLost(), 10.5)
    engine.handle(e.TimerFired("agent:a", "phone_grace"), 12.0)
    assert engine.agents["a"].state is AgentState.PAUSED
    cmds = engine.handle(e.AgentPhoneLost("a"), 20.0)
    assert c.CallAgentPhone("a", "PJSIP/a") in cmds
    engine.handle(e.AgentPhoneUp("a"), 20.3)
    assert engine.agents["a"].state is AgentState.READY


def test_an_agent_serves_only_its_own_campaign() -> None:
    engine = Engine()
    engine.handle(e.AgentLogin("b", "PJSIP/b", campaign="other"), 0.0)
    engine.handle(e.AgentPhoneUp("b"), 0.0)
    cmds = answer_human(engine, "x1", 1.0)
    assert not [x for x in cmds if isinstance(x, c.BridgeToAgent)]
    engine.handle(e.AgentLogin("a", "PJSIP/a", campaign="sales"), 4.1)
    cmds = engine.handle(e.AgentPhoneUp("a"), 4.2)
    assert c.BridgeToAgent("x1", "a") in cmds


def test_a_refused_bridge_sends_the_call_to_another_agent_and_redials_the_phone() -> None:
    engine = Engine()
    login(engine, "a", 0.0)
    login(engine, "b", 0.5)
    answer_human(engine, "x1", 1.0)
    cmds = engine.handle(e.BridgeFailed("x1"), 4.05)
    assert c.CallAgentPhone("a", "PJSIP/a") in cmds
    assert c.BridgeToAgent("x1", "b") in cmds
    assert engine.agents["a"].state is AgentState.PAUSED
    assert engine.agents["b"].attempt_id == "x1"


def test_deadline_while_joining_frees_the_agent_and_abandons_the_call() -> None:
    engine = Engine()
    login(engine, "a", 0.0)
    answer_human(engine, "x1", 1.0)
    cmds = engine.handle(e.TimerFired("x1", "connect_deadline"), 6.0)
    assert engine.agents["a"].state is AgentState.READY
    assert c.LeaveBridge("x1", "a") in cmds and any(isinstance(x, c.LedgerAbandon)
                                                    for x in cmds)
