"""The crash-safe engine on a real Asterisk 22: an engine that dies leaves calls, phones
and bridges up; the next engine takes them over without a three-party bridge, and a
person who answered while no engine listened heard the safe-harbor message from the
dialplan and is counted abandoned. An Asterisk restart mid-campaign brings every agent
back by itself and dials no number twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from dialer.app import AppHooks, DialerApp
from dialer.core.agent import AgentState
from dialer.core.call import CallState
from dialer.demo.run import demo_skew
from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.observer import AriWitness
from tests.real.stack import (
    Campaign,
    RealRun,
    engine_config,
    import_numbers,
    load_campaign,
    real_engine,
)

pytestmark = pytest.mark.real_asterisk
STALE = 2.0  # heartbeat timeout: a crashed engine is dead this soon


@asynccontextmanager
async def crashable(ast: RealAsterisk, dsn: str, campaign: str, agents: Sequence[str] = ()
                    ) -> AsyncIterator[tuple[RealRun, asyncio.Task[None]]]:
    """An engine the test may crash (:func:`crash`: it stops dead, without its drain, its
    connections close and what it had in Asterisk stays); else it stops cleanly."""
    cfg = engine_config(ast)
    cfg = dataclasses.replace(cfg, engine=dataclasses.replace(
        cfg.engine, heartbeat_interval=0.5, heartbeat_timeout=STALE, reconcile_interval=2.0))
    app = DialerApp(cfg, dsn, hooks=AppHooks(compliance_skew=demo_skew()))
    conn = await asyncpg.connect(dsn)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop))
    try:
        async with asyncio.timeout(20):
            await app.started.wait()
        run = RealRun(app, conn, [], campaign)
        if agents:
            await run.login(agents)
        yield run, task
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
        await conn.close()


async def crash(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(STALE + 0.5)


@pytest.mark.timeout(120)
async def test_a_person_who_answers_while_no_engine_listens_hears_the_message_and_is_counted(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path) -> None:
    asterisk.set_global("SIM_TALK", "12")
    await phones("agent1")
    conn = await asyncpg.connect(db_dsn)
    await load_campaign(conn, tmp_path, Campaign(name="alone"), ["2125550100"])
    try:
        async with crashable(asterisk, db_dsn, "alone", ["agent1"]) as (run, task):
            await run.until(lambda: any(c.state is CallState.ANSWERED for c in
                                        run.parts.service.engine.calls.values()), 30,
                            "the call answered, AMD listening")
            await crash(task)  # AMD decides with nobody on ARI: Stasis() fails
        await run.until(lambda: bool(asterisk.log_lines("nobody@dialer-amd")), 15,
                        "the dialplan took the call over")
        async with crashable(asterisk, db_dsn, "alone") as (again, _):
            await again.wait_leads_done(40)
            await asyncio.sleep(1.0)
            row = await conn.fetchrow("SELECT outcome, live_answer, abandoned FROM "
                                      "call_attempts")
    finally:
        await conn.close()
    assert any("Read(" in ln and "safe-harbor" in ln
               for ln in asterisk.log_lines("nobody@dialer-amd")), "no safe-harbor message"
    assert dict(row) == {"outcome": "abandoned", "live_answer": True, "abandoned": True}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_a_new_engine_on_a_crashed_ones_phones_and_bridges_never_makes_a_three_party_bridge(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness, db_dsn: str,
        tmp_path: Path, via: str) -> None:
    asterisk.set_global("SIM_TALK", "4")
    await phones("agent1", "agent2")
    conn = await asyncpg.connect(db_dsn)
    await load_campaign(conn, tmp_path, Campaign(name="leftovers", via=via), [])
    try:
        async with crashable(asterisk, db_dsn, "leftovers", ["agent1", "agent2"]) as (_, task):
            await crash(task)
        left = await asyncio.to_thread(asterisk.cli, "bridge show all")
        assert left.count("agent-agent") == 2, left  # the dead engine's holding bridges
        async with crashable(asterisk, db_dsn, "leftovers") as (run, _):
            await run.until(lambda: all(run.agent_state(a) is AgentState.READY
                                        for a in ("agent1", "agent2")), 20,
                            "agents back without logging in")
            await import_numbers(conn, tmp_path, "leftovers", ["2125550100", "2125550101"])
            await run.wait_leads_done(60)
            rows = await conn.fetch("SELECT outcome, agent_id FROM call_attempts")
    finally:
        await conn.close()
    assert sorted(r["outcome"] for r in rows) == ["human", "human"]
    crowded = [ev for ev in ari_witness.find("ChannelEnteredBridge")
               if len(ev["bridge"]["channels"]) > 2]
    assert crowded == [], crowded
    await asyncio.sleep(1.0)
    assert (await asyncio.to_thread(asterisk.cli, "core show channels concise")).strip() == ""


@pytest.mark.timeout(150)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_an_asterisk_restart_mid_campaign_brings_agents_back_and_dials_nothing_twice(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness, db_dsn: str,
        tmp_path: Path, via: str) -> None:
    asterisk.set_global("SIM_TALK", "3")
    await phones("agent1", "agent2")
    numbers = [f"21255501{i:02d}" for i in range(0, 40) if i % 10 in (0, 1, 2, 7)]
    campaign = Campaign(name="restart", mode="power", via=via)
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, numbers)],
                           ["agent1", "agent2"]) as run:
        await run.until(lambda: len(run.parts.service.engine.calls) >= 2, 30, "calls up")
        await asyncio.to_thread(asterisk.restart)
        asterisk.set_global("SIM_TALK", "3")
        back = run.now()
        lines = run.parts.service.executor.lines.lines
        await run.until(lambda: all(run.agent_state(a) is AgentState.READY and a in lines
                                    and lines[a].up and lines[a].up_at > back
                                    for a in ("agent1", "agent2")), 10,
                        "both agents ready on new phone lines within 10 s of Asterisk "
                        "being back")
        print(f"agents ready {run.now() - back:.1f} s after the restart")
        await run.wait_leads_done(90)
        dialled = await run.conn.fetch("SELECT phone, count(*) AS n FROM call_attempts "
                                       "GROUP BY phone")
        after = await run.conn.fetchval(
            "SELECT count(*) FROM call_attempts WHERE outcome = 'human' AND agent_id IS "
            "NOT NULL AND created_at > now() - make_interval(secs => $1)", run.now() - back)
    assert len(dialled) == len(numbers) and all(r["n"] == 1 for r in dialled)
    assert after > 0, "no person reached an agent after the restart"
    placed: dict[str, int] = {}
    for ev in ari_witness.find("ChannelCreated"):
        name = ev["channel"]["name"]
        if name.startswith("Local/") and name.endswith(";1") and "@dialer-test-carrier" in name:
            number = name.removeprefix("Local/").split("@")[0]
            placed[number] = placed.get(number, 0) + 1
    assert placed and max(placed.values()) == 1, placed
