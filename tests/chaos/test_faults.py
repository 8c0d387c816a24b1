"""Each fault the crash-safe engine was built against, replayed on real processes: the
engine and the simulated Asterisk are `dialer run` and `dialer sim` processes killed for
real, and the verdict comes from the simulators' own records and Postgres
(:mod:`dialer.chaos.checks`)."""

from __future__ import annotations

import asyncio
import random
import signal
import time

import asyncpg
import pytest

from dialer.chaos.faults import AGENTS_BACK, Outcome, _agents_back, _working, twin_engine
from dialer.chaos.world import World
from tests.chaos.world import judged, kill, open_attempts, start, world

pytestmark = pytest.mark.timeout(180)


async def _sessions_open(w: World, engine_id: str, want: int | None = None) -> int:
    """Open agent sessions of an engine (once there are ``want``, or after 5 s)."""
    conn = await asyncpg.connect(w.dsn)
    try:
        for _ in range(50):
            n = int(await conn.fetchval("SELECT count(*) FROM agent_sessions "
                                        "WHERE logout_at IS NULL AND engine_id = $1",
                                        engine_id))
            if want is None or n == want:
                break
            await asyncio.sleep(0.1)
        return n
    finally:
        await conn.close()


async def test_an_engine_killed_mid_campaign_and_started_again_closes_everything_and_dials_nothing_twice(  # noqa: E501
        tmp_path) -> None:
    async with world(tmp_path) as w:
        a = await start(w)
        await open_attempts(w, 4)
        working = await _working(w, a)
        await kill(w, a)
        await asyncio.sleep(8.0)  # started again 8 s later, as a supervisor would
        await start(w, log_in=False)
        out = Outcome("kill_engine", time.time())
        await _agents_back(w, a, working, out)
        assert out.violations == [], "the agents should be back without logging in"
        await asyncio.sleep(4.0)
        assert await judged(w) == []


async def test_a_second_engine_on_the_same_asterisk_is_refused_and_touches_nothing(
        tmp_path) -> None:
    async with world(tmp_path) as w:
        a = await start(w)
        assert await _sessions_open(w, "chaos-a", len(a.agents)) == len(a.agents)
        out = Outcome("twin_engine", time.time())
        await twin_engine(w, random.Random(1), out)
        assert out.violations == []
        log = (w.root / "engine-twin.log").read_text()
        assert "two engines cannot share one Asterisk" in log
        await asyncio.sleep(1.0)
        assert await _sessions_open(w, "chaos-a") == len(a.agents)
        assert await judged(w) == []


async def test_two_engines_sharing_a_campaign_never_dial_one_number_twice(tmp_path) -> None:
    async with world(tmp_path, leads=600) as w:
        await start(w)
        b = await start(w, "b")
        await open_attempts(w, 6)
        await asyncio.sleep(6.0)
        assert await _sessions_open(w, "chaos-a", 4) == len(w.engines["a"].agents)
        assert await _sessions_open(w, "chaos-b", 4) == len(b.agents)
        await w.kill(b.proc, signal.SIGTERM)
        w.engine_down(b, time.time())
        assert await judged(w) == []


async def test_a_killed_asterisk_comes_back_with_every_agent_working_within_ten_seconds(
        tmp_path) -> None:
    async with world(tmp_path) as w:
        a = await start(w)
        await open_attempts(w, 4)
        working = await _working(w, a)
        assert working
        await w.kill(a.sim.proc)
        await asyncio.sleep(1.0)
        await w.start_sim(a.sim)
        out = Outcome("kill_asterisk", time.time())
        await _agents_back(w, a, working, out)
        assert out.violations == [], f"not back within {AGENTS_BACK} s"
        await asyncio.sleep(4.0)  # live answers after the restart reach agents again
        assert await judged(w) == []


async def test_a_new_engine_on_a_dead_ones_leftovers_never_makes_a_three_party_bridge(
        tmp_path) -> None:
    async with world(tmp_path) as w:
        a = await start(w)
        await open_attempts(w, 4)
        await kill(w, a)  # its phones, bridges and calls stay up in Asterisk
        state = await w.sim_state(a.sim)
        assert state is not None and state["bridges"], "the dead engine left bridges"
        await start(w, log_in=False)
        await asyncio.sleep(6.0)
        assert await judged(w) == []  # includes: no bridge ever held three channels


async def test_sigterm_with_calls_longer_than_the_drain_leaves_nothing_behind(
        tmp_path) -> None:
    async with world(tmp_path, speed=1.0) as w:  # real-time calls: 20-60 s talks
        a = await start(w)
        await open_attempts(w, 3)
        await asyncio.sleep(3.0)
        code = await w.kill(a.proc, signal.SIGTERM)
        w.engine_down(a, time.time())
        assert code == 0, a.log.read_text()[-3000:]
        state = await w.sim_state(a.sim)
        assert state is not None and (state["channels"], state["bridges"]) == ([], [])
        assert await judged(w) == []


OTHER = """\
name: other
mode: progressive
caller_id: "+12125550100"
dial_template: "Local/{number}@carrier-sim"
ring_timeout: 20
brand: Other Co
"""


async def test_only_the_campaigns_the_config_names_are_run(tmp_path) -> None:
    async with world(tmp_path, extra=OTHER) as w:
        conn = await asyncpg.connect(w.dsn)
        try:
            await conn.execute("INSERT INTO leads (campaign_id, phone, state) SELECT id, "
                               "12123330000 + g, 'NY' FROM campaigns, generate_series(1, 50) g "
                               "WHERE name = 'other'")
            await start(w)
            await open_attempts(w, 4)
            await asyncio.sleep(2.0)
            other = await conn.fetchval(
                "SELECT count(*) FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id "
                "WHERE c.name = 'other'")
        finally:
            await conn.close()
        assert other == 0, "a campaign the engine config does not name was dialled"
        assert await judged(w) == []
