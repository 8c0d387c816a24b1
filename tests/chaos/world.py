"""The chaos world for tests: real `dialer sim` and `dialer run` processes on an
embedded PostgreSQL (see :mod:`dialer.chaos.world`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from dialer.chaos.run import ChaosOptions, Report, finish, load
from dialer.chaos.world import Engine, World


@asynccontextmanager
async def world(tmp: Path, *, seed: int = 1, leads: int = 800, agents: int = 4,
                via: str = "ami", speed: float = 10.0, extra: str | None = None
                ) -> AsyncIterator[World]:
    w = World(tmp / "world", seed, speed=speed, agents=agents)
    try:
        await w.start()
        await load(w, ChaosOptions(seed=seed, leads=leads, via=via, extra_campaign=extra))
        yield w
    finally:
        await w.close()


async def start(w: World, name: str = "a", *, log_in: bool = True) -> Engine:
    e = w.engines[name]
    proc = await w.start_engine(e)
    assert proc.returncode is None, e.log.read_text()[-3000:]
    if log_in:
        await w.log_in(e)
    return e


async def kill(w: World, e: Engine) -> None:
    await w.kill(e.proc)
    w.engine_down(e, time.time())


async def open_attempts(w: World, at_least: int, timeout: float = 30.0) -> int:
    """Wait until this many attempts are open (calls in flight)."""
    conn = await asyncpg.connect(w.dsn)
    try:
        async with asyncio.timeout(timeout):
            while True:
                n = await conn.fetchval("SELECT count(*) FROM call_attempts "
                                        "WHERE ended_at IS NULL")
                if n >= at_least:
                    return int(n)
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def judged(w: World) -> list[str]:
    """Stop everything cleanly and return every invariant's violations."""
    report = Report()
    await finish(w, report)
    return report.all_violations()
