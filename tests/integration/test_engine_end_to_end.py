"""The whole engine over real sockets and a real database: campaigns dial, every
outcome digit is recorded, agents take calls, compliance blocks are audited."""

from __future__ import annotations

import pytest

from tests.integration.engine_stack import engine_stack

DIGITS = {0: "human", 1: "human", 2: "human", 3: "human", 4: "machine", 5: "machine",
          6: "busy", 7: "no_answer", 8: "congestion", 9: "answer_hangup"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_every_outcome_digit_is_recorded(db_dsn, tmp_path, via: str) -> None:
    numbers = [f"212555010{d}" for d in range(10)]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=4, via=via) as run:
        await run.wait_leads_done()
        outcomes = await run.outcomes()
        rows = await run.conn.fetch(
            "SELECT phone, originated_at, answered_at, amd_status, bridged_at, ended_at, "
            "agent_id, compliance FROM call_attempts")
    assert {p % 10: o for p, o in outcomes.items()} == DIGITS
    humans = [r for r in rows if r["phone"] % 10 < 4]
    assert all(r["bridged_at"] and r["agent_id"] and r["amd_status"] == "HUMAN"
               for r in humans)
    assert all(r["originated_at"] and r["ended_at"] and r["compliance"] for r in rows)


@pytest.mark.timeout(120)
async def test_blocked_numbers_are_never_dialed_and_are_audited(db_dsn, tmp_path) -> None:
    numbers = ["2125550100", "2125550111", "2125550122"]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=2,
                            dnc=["2125550111"]) as run:
        await run.wait_leads_done()
        dialed = set(await run.outcomes())
        audit = await run.conn.fetch("SELECT phone, reasons FROM compliance_audit")
    assert 12125550111 not in dialed
    assert [(a["phone"], a["reasons"]) for a in audit] == [(12125550111, ["dnc_internal"])]


@pytest.mark.timeout(120)
async def test_live_answers_without_free_agents_get_safe_harbor(db_dsn, tmp_path) -> None:
    numbers = [f"21255501{i}{d}" for i in (2, 3, 4) for d in (0, 1)]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=0, mode="power") as run:
        from dialer.core import events as e

        run.parts.service.feed(e.AgentLogin("agent1", "PJSIP/agent1", campaign="test"))
        await run.wait_leads_done()
        rows = await run.conn.fetch(
            "SELECT outcome, abandoned, live_answer, agent_id FROM call_attempts")
    assert len(rows) == len(numbers)
    assert all(r["live_answer"] for r in rows)
    abandoned = [r for r in rows if r["abandoned"]]
    assert abandoned, "two calls per agent with one agent: some live answer waits too long"
    assert all(r["outcome"] == "abandoned" and r["agent_id"] is None for r in abandoned)
    assert any(r["outcome"] == "human" and r["agent_id"] for r in rows)
