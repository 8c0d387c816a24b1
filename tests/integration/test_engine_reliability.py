"""Faults while calls are up: the engine reconnects, rebuilds its state from Asterisk
and the database, never originates an attempt twice, and drains on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.integration.engine_stack import engine_stack, load
from tests.pgproxy import Proxy, socket_of, through

ROOT = Path(__file__).resolve().parents[2]
# `dialer run`, with the compliance clock at the demo's hour (20:30 in New York), so the
# test's New York numbers are inside their calling hours whenever the test runs.
RUN_AT_DEMO_HOUR = (
    "import functools, sys, dialer.app as app, dialer.demo.run as demo; "
    "app.AppHooks = functools.partial(app.AppHooks, compliance_skew=demo.demo_skew()); "
    "from dialer.cli import main; sys.exit(main(sys.argv[1:]))")
NUMBERS = [f"2125550{i:03d}" for i in range(100, 160)]


async def _attempt_invariants(conn: asyncpg.Connection) -> None:
    # an attempt whose Originate never left (no AMI connection) is canceled, not dialled
    per_lead = await conn.fetch("SELECT lead_id, count(*) AS n FROM call_attempts "
                                "WHERE outcome <> 'canceled' GROUP BY lead_id "
                                "HAVING count(*) > 1")
    assert per_lead == [], "a lead was originated twice"
    open_rows = await conn.fetchval("SELECT count(*) FROM call_attempts WHERE ended_at IS NULL")
    assert open_rows == 0
    leased = await conn.fetchval("SELECT count(*) FROM leads WHERE status IN "
                                 "('leased', 'dialing')")
    assert leased == 0


async def _some_calls_up(run, count: int = 3) -> None:
    async with asyncio.timeout(20):
        while len(run.parts.service.engine.calls) < count:
            await asyncio.sleep(0.05)


@pytest.mark.timeout(120)
async def test_ami_drop_mid_call_reconnects_and_never_originates_twice(db_dsn, tmp_path):
    async with engine_stack(db_dsn, tmp_path, NUMBERS, agents=4, mode="power") as run:
        await _some_calls_up(run)
        assert run.sim.drop_ami() == 1
        async with asyncio.timeout(15):
            while not run.parts.tel.connected["ami"]:
                await asyncio.sleep(0.05)
        await run.wait_leads_done(timeout=90)
        await _attempt_invariants(run.conn)
        assert await run.conn.fetchval("SELECT count(*) FROM call_attempts "
                                       "WHERE outcome <> 'canceled'") == len(NUMBERS)


@pytest.mark.timeout(120)
async def test_ari_websocket_drop_mid_call_is_survived(db_dsn, tmp_path):
    async with engine_stack(db_dsn, tmp_path, NUMBERS[:30], agents=4, mode="power",
                            via="ari") as run:
        await _some_calls_up(run)
        assert run.sim.drop_ari_websockets() >= 1
        await run.wait_leads_done(timeout=90)
        await _attempt_invariants(run.conn)


@pytest.mark.timeout(120)
async def test_asterisk_restart_loses_calls_and_the_engine_ends_them(db_dsn, tmp_path):
    async with engine_stack(db_dsn, tmp_path, NUMBERS[:30], agents=4, mode="power") as run:
        await _some_calls_up(run)
        await run.sim.restart()
        await run.wait_leads_done(timeout=90)
        await _attempt_invariants(run.conn)


@pytest.mark.timeout(120)
async def test_postgres_outage_stops_dialing_and_keeps_the_writes(db_dsn, tmp_path):
    proxy = Proxy(socket_of(db_dsn))
    await proxy.start()
    try:
        async with engine_stack(db_dsn, tmp_path, NUMBERS, agents=4, mode="power",
                                app_dsn=through(db_dsn, proxy)) as run:
            await _some_calls_up(run)
            proxy.cut()
            writer = run.parts.writer
            async with asyncio.timeout(15):
                while writer.db_up:
                    await asyncio.sleep(0.05)
            placed = sum(d.stats.placed for d in run.parts.dialers.values())
            async with asyncio.timeout(30):  # the calls in progress finish
                while run.parts.service.engine.calls:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            assert sum(d.stats.placed for d in run.parts.dialers.values()) == placed
            assert writer.pending > 0
            proxy.restore()
            await run.wait_leads_done(timeout=90)
            await _attempt_invariants(run.conn)
            assert await run.conn.fetchval("SELECT count(*) FROM call_attempts "
                                           "WHERE outcome <> 'canceled'") == len(NUMBERS)
    finally:
        await proxy.close()


def _config(path: Path, dsn: str, ami: int, ari: int) -> Path:
    path.write_text(
        f"database:\n  url: \"{dsn}\"\n"
        f"ami:\n  port: {ami}\n  secret: dialer-secret\n"
        f"ari:\n  url: http://127.0.0.1:{ari}\n  password: dialer-secret\n"
        "http:\n  port: 0\n"
        "engine:\n  drain_timeout: 20s\n"
        "logging:\n  format: json\n  level: info\n")
    return path


@pytest.mark.timeout(120)
async def test_sigterm_stops_dialing_lets_calls_finish_and_exits_zero(db_dsn, tmp_path):
    from dialer.sim.server import SimAsterisk

    conn = await asyncpg.connect(db_dsn)
    await load(conn, tmp_path, NUMBERS, name="bcast", mode="broadcast", via="ami",
               machine_action="hangup", dnc=[])
    async with SimAsterisk(seed=5, speed=10).running() as sim:
        cfg = _config(tmp_path / "dialer.yaml", db_dsn, sim.ami_port, sim.ari_port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_AT_DEMO_HOUR, "run", "-c", str(cfg), cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        async with asyncio.timeout(30):
            while await conn.fetchval("SELECT count(*) FROM call_attempts") < 5:
                assert proc.returncode is None, (await proc.communicate())[1].decode()
                await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 40)
        assert proc.returncode == 0, err.decode()[-3000:]
        placed = await conn.fetchval("SELECT count(*) FROM call_attempts")
        await asyncio.sleep(1.0)
        assert await conn.fetchval("SELECT count(*) FROM call_attempts") == placed
        await _attempt_invariants(conn)
        assert b'"drained"' in err
    await conn.close()
