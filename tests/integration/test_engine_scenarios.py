"""Campaign behaviours over real sockets and a real database: messages on answering
machines, agentless broadcast with the opt-out key, and agents who log in, pause and
log out while calls are up."""

from __future__ import annotations

import asyncio

import pytest

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import AgentState
from tests.integration.engine_stack import engine_stack


def record_commands(run) -> list[c.Command]:
    seen: list[c.Command] = []
    run.parts.service.listeners.append(lambda event, cmds: seen.extend(cmds))
    return seen


@pytest.mark.timeout(120)
async def test_machine_gets_the_message_after_its_greeting(db_dsn, tmp_path) -> None:
    # talk detection ends the wait; the 12 s greeting_wait is only the fallback
    async with engine_stack(db_dsn, tmp_path, ["2125550104", "2125550115"], agents=1,
                            machine_action="message") as run:
        seen = record_commands(run)
        await run.wait_leads_done()
        outcomes = await run.outcomes()
    plays = [x for x in seen if isinstance(x, c.Play)]
    assert sorted(p.media for p in plays) == ["dialer/machine-message"] * 2
    assert any(isinstance(x, c.DetectTalk) for x in seen)
    assert set(outcomes.values()) == {"machine"}


@pytest.mark.timeout(120)
async def test_broadcast_plays_the_message_and_the_opt_out_key_blocks_the_number(
        db_dsn, tmp_path) -> None:
    numbers = ["2125550100", "2125550103", "2125550111", "2125550113"]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=0, mode="broadcast",
                            optout_digits="3") as run:
        seen = record_commands(run)
        await run.wait_leads_done()
        outcomes = await run.outcomes()
        opt_outs = await run.conn.fetch("SELECT phone, channel FROM opt_outs ORDER BY phone")
        facts = run.parts.dialers["test"]
        verdict = run.parts.compliance.check(12125550103, facts.setup.rules)
    assert outcomes == {12125550100: "broadcast", 12125550103: "optout",
                        12125550111: "broadcast", 12125550113: "optout"}
    assert [(r["phone"], r["channel"]) for r in opt_outs] == [
        (12125550103, "keypress"), (12125550113, "keypress")]
    assert "dnc_internal" in verdict.reasons
    media = [x.media for x in seen if isinstance(x, c.Play)]
    assert media.count("dialer/broadcast") == 4
    assert media.count("dialer/optout-confirmed") == 2


async def _until(check, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.mark.timeout(150)
async def test_agents_log_in_pause_and_log_out_while_calls_are_up(db_dsn, tmp_path) -> None:
    numbers = [f"2125550{i:03d}" for i in range(100, 160) if i % 10 < 4]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=3) as run:
        engine = run.parts.service.engine
        state = lambda name: engine.agents[name].state  # noqa: E731
        await _until(lambda: any(a.state is AgentState.TALKING for a in engine.agents.values()))
        run.parts.service.apply(e.AgentLogin("agent4", "PJSIP/agent4", campaign="test"))
        # pause an agent the moment one is ready, while the others are on calls
        await _until(lambda: any(state(n) is AgentState.READY for n in ("agent1", "agent2",
                                                                         "agent3")))
        paused = next(n for n in ("agent1", "agent2", "agent3")
                      if state(n) is AgentState.READY)
        run.parts.service.apply(e.AgentPause(paused, "coaching"))
        paused_at = run.parts.service.clock.wall()
        # another hangs up the softphone mid-call: the customer is hung up, and the agent
        # is logged out once the phone grace has passed with Asterisk still there
        await _until(lambda: any(state(n) is AgentState.TALKING for n in engine.agents))
        talking = next(n for n in engine.agents if state(n) is AgentState.TALKING)
        run.parts.service.apply(e.AgentPhoneDown(talking))
        assert engine.agents[talking].pause_reason == "hung_up"
        await _until(lambda: state(talking) is AgentState.LOGGED_OUT)
        await run.wait_leads_done(timeout=100)
        assert state(paused) is AgentState.PAUSED
        rows = await run.conn.fetch(
            "SELECT a.name, c.bridged_at FROM call_attempts c JOIN agents a "
            "ON a.id = c.agent_id WHERE c.bridged_at IS NOT NULL")
        sessions = await run.conn.fetchval("SELECT count(*) FROM agent_sessions "
                                           "WHERE logout_at IS NOT NULL")
    assert any(r["name"] == "agent4" for r in rows), "the late login took no call"
    assert not [r for r in rows if r["name"] == paused and r["bridged_at"] > paused_at], \
        "a paused agent was given a call"
    assert sessions >= 1  # the phone-down logout closed its session
