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


@pytest.mark.timeout(150)
async def test_agents_log_in_pause_and_log_out_while_calls_are_up(db_dsn, tmp_path) -> None:
    numbers = [f"2125550{i:03d}" for i in range(100, 160) if i % 10 < 4]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=3) as run:
        engine = run.parts.service.engine
        async with asyncio.timeout(20):
            while not any(a.state is AgentState.TALKING for a in engine.agents.values()):
                await asyncio.sleep(0.02)
        idle = [n for n, a in engine.agents.items() if a.state is AgentState.READY]
        run.parts.service.apply(e.AgentLogin("agent4", "PJSIP/agent4"))
        if idle:
            run.parts.service.apply(e.AgentPause(idle[0], "coaching"))
        talking = next(n for n, a in engine.agents.items() if a.state is AgentState.TALKING)
        run.parts.service.apply(e.AgentPhoneDown(talking))  # hangs up the softphone
        assert engine.agents[talking].state is AgentState.LOGGED_OUT
        await run.wait_leads_done(timeout=100)
        agents = await run.conn.fetch(
            "SELECT a.name, count(c.id) AS calls FROM agents a LEFT JOIN call_attempts c "
            "ON c.agent_id = a.id GROUP BY a.name")
        calls = {r["name"]: r["calls"] for r in agents}
        sessions = await run.conn.fetchval("SELECT count(*) FROM agent_sessions "
                                           "WHERE logout_at IS NOT NULL")
    assert calls.get("agent4", 0) > 0, calls
    if idle:
        paused_calls = calls.get(idle[0], 0)
        assert engine.agents[idle[0]].state is AgentState.PAUSED
        assert paused_calls >= 0
    assert sessions >= 1
