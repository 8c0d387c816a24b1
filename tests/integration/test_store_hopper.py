"""Leasing leads: SKIP LOCKED, due order, release, and the sweep of dead engines' leases."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import asyncpg

from dialer.store.hopper import (
    LeasedLead,
    lease_leads,
    release_leads,
    release_leftovers,
    sweep_dead_leases,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
_phones = itertools.count(15550100000)


async def _campaign(db: asyncpg.Pool, name: str = "c1") -> int:
    return int(await db.fetchval(
        "INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition) "
        "VALUES ($1, 'progressive', '+15550001111', 20, '{}') RETURNING id", name))


async def _leads(db: asyncpg.Pool, cid: int, count: int, **cols: object) -> list[int]:
    names = ", ".join(cols)
    extra = "".join(f", ${i}" for i in range(3, 3 + len(cols)))
    sql = (f"INSERT INTO leads (campaign_id, phone{', ' + names if cols else ''}) "
           f"VALUES ($1, $2{extra}) RETURNING id")
    return [int(await db.fetchval(sql, cid, next(_phones), *cols.values()))
            for _ in range(count)]


async def _status(db: asyncpg.Pool, lead_id: int) -> asyncpg.Record:
    return await db.fetchrow("SELECT status, lease_owner, lease_expires_at, attempts "
                             "FROM leads WHERE id = $1", lead_id)


async def test_lease_returns_due_leads_in_due_order_with_their_facts(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    later = await _leads(db, cid, 1, next_attempt_at=NOW - timedelta(minutes=1))
    first = await _leads(db, cid, 1, next_attempt_at=NOW - timedelta(hours=1))
    await db.execute("UPDATE leads SET state = 'CA', zip = '94105', "
                     "time_zones = '{America/Los_Angeles}', custom = '{\"name\": \"Ann\"}' "
                     "WHERE id = $1", first[0])
    leased = await lease_leads(db, cid, "e1", 10, 60, NOW)
    assert [lead.lead_id for lead in leased] == [first[0], later[0]]
    assert leased[0] == LeasedLead(first[0], cid, leased[0].phone, "CA", "94105",
                                   ("America/Los_Angeles",), 0, {"name": "Ann"})
    row = await _status(db, first[0])
    assert (row["status"], row["lease_owner"]) == ("leased", "e1")
    assert row["lease_expires_at"] == NOW + timedelta(seconds=60)


async def test_lease_skips_leads_not_due_not_dialable_or_of_other_campaigns(
        db: asyncpg.Pool) -> None:
    cid, other = await _campaign(db), await _campaign(db, "c2")
    due = await _leads(db, cid, 3)
    await _leads(db, cid, 1, next_attempt_at=NOW + timedelta(seconds=1))
    await db.execute("UPDATE leads SET status = 'done' WHERE id = $1", due[1])
    await db.execute("UPDATE leads SET status = 'callback' WHERE id = $1", due[2])
    await _leads(db, other, 2)
    leased = await lease_leads(db, cid, "e1", 10, 60, NOW)
    assert sorted(lead.lead_id for lead in leased) == [due[0], due[2]]
    assert await lease_leads(db, cid, "e2", 10, 60, NOW) == []


async def test_lease_respects_the_limit(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    ids = await _leads(db, cid, 5)
    assert [lead.lead_id for lead in await lease_leads(db, cid, "e1", 2, 60, NOW)] == ids[:2]
    assert [lead.lead_id for lead in await lease_leads(db, cid, "e1", 9, 60, NOW)] == ids[2:]


async def test_lease_uses_the_dialable_index(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    await _leads(db, cid, 3)
    async with db.acquire() as conn:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT id FROM leads WHERE campaign_id = $1 AND status IN "
            "('new', 'retry', 'callback') AND next_attempt_at <= $2 "
            "ORDER BY next_attempt_at, id LIMIT 5 FOR UPDATE SKIP LOCKED", cid, NOW))
    assert "leads_dialable" in plan


async def test_two_engines_leasing_at_once_never_get_the_same_lead(db_dsn: str) -> None:
    pools = [await asyncpg.create_pool(db_dsn, min_size=4, max_size=4) for _ in range(2)]
    try:
        cid = await _campaign(pools[0])
        await pools[0].execute(
            "INSERT INTO leads (campaign_id, phone) "
            "SELECT $1, 15550000000 + g FROM generate_series(1, 2000) g", cid)

        async def engine(pool: asyncpg.Pool, owner: str) -> list[int]:
            got: list[int] = []
            while batch := await lease_leads(pool, cid, owner, 7, 60, NOW):
                got += [lead.lead_id for lead in batch]
            return got

        runs = await asyncio.gather(*(engine(pools[i % 2], f"e{i}") for i in range(8)))
        everything = [lead for run in runs for lead in run]
        assert len(everything) == 2000
        assert len(set(everything)) == 2000
        assert sum(1 for run in runs if run) > 1
        owners = await pools[0].fetch("SELECT lease_owner, count(*) FROM leads GROUP BY 1")
        assert {r["lease_owner"]: r["count"] for r in owners} == {
            f"e{i}": len(run) for i, run in enumerate(runs) if run}
    finally:
        for pool in pools:
            await pool.close()


async def test_release_puts_leads_back_as_they_were_for_their_owner_only(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    new, retried, callback = await _leads(db, cid, 3)
    await db.execute("UPDATE leads SET status = 'retry', attempts = 2 WHERE id = $1", retried)
    await db.execute("UPDATE leads SET status = 'callback' WHERE id = $1", callback)
    await lease_leads(db, cid, "e1", 10, 60, NOW)
    assert await release_leads(db, [new, retried, callback], "e2") == 0
    assert (await _status(db, new))["status"] == "leased"
    assert await release_leads(db, [new, retried, callback], "e1") == 3
    for lead, status in ((new, "new"), (retried, "retry"), (callback, "callback")):
        row = await _status(db, lead)
        assert (row["status"], row["lease_owner"], row["lease_expires_at"]) == (status, None,
                                                                                 None)
    assert len(await lease_leads(db, cid, "e2", 10, 60, NOW)) == 3


async def test_release_leaves_leads_being_dialled(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    (lead,) = await _leads(db, cid, 1)
    await lease_leads(db, cid, "e1", 1, 60, NOW)
    await db.execute("UPDATE leads SET status = 'dialing' WHERE id = $1", lead)
    assert await release_leads(db, [lead], "e1") == 0
    assert (await _status(db, lead))["status"] == "dialing"


async def _engine(db: asyncpg.Pool, engine_id: str, beat_age_s: float | None,
                  up_for_s: float = 3600.0) -> None:
    """An engines row whose heartbeat is ``beat_age_s`` old (None: stopped)."""
    await db.execute(
        """INSERT INTO engines (id, run_id, host, pid, asterisk, heartbeat_at, up_since)
           VALUES ($1, gen_random_uuid(), 'h', 1, $1,
                   now() - make_interval(secs => $2), now() - make_interval(secs => $3))""",
        engine_id, beat_age_s, up_for_s)


async def test_only_leases_of_dead_engines_are_swept_never_because_they_are_old(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    alive, dead, stopped = await _leads(db, cid, 3)
    for owner in ("alive", "dead", "stopped"):
        await lease_leads(db, cid, owner, 1, 10, NOW - timedelta(days=1))
    for name, age in (("me", 0.0), ("alive", 1.0), ("dead", 30.0), ("stopped", None)):
        await _engine(db, name, age)
    assert await sweep_dead_leases(db, "me", 15.0) == 2
    assert [(await _status(db, i))["status"] for i in (alive, dead, stopped)] == [
        "leased", "new", "new"]


async def test_a_lead_with_an_open_attempt_is_not_swept(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    (lead,) = await _leads(db, cid, 1)
    await lease_leads(db, cid, "dead", 1, 10, NOW)
    await db.execute("UPDATE leads SET status = 'dialing' WHERE id = $1", lead)
    await db.execute("INSERT INTO call_attempts (id, campaign_id, lead_id, phone, engine_id) "
                     "VALUES (gen_random_uuid(), $1, $2, 1, 'dead')", cid, lead)
    await _engine(db, "me", 0.0)
    await _engine(db, "dead", 60.0)
    assert await sweep_dead_leases(db, "me", 15.0) == 0
    assert (await _status(db, lead))["status"] == "dialing"


async def test_nobody_is_declared_dead_right_after_a_database_outage(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    (lead,) = await _leads(db, cid, 1)
    await lease_leads(db, cid, "other", 1, 10, NOW)
    await _engine(db, "me", 0.0, up_for_s=2.0)   # my own link came back 2 s ago
    await _engine(db, "other", 40.0)             # it has not beaten since the outage
    assert await sweep_dead_leases(db, "me", 15.0) == 0
    assert (await _status(db, lead))["status"] == "leased"


async def test_a_restarted_engine_gives_back_what_its_earlier_run_never_dialled(
        db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    mine, theirs = await _leads(db, cid, 2)
    await lease_leads(db, cid, "e1", 1, 10, NOW)
    await lease_leads(db, cid, "e2", 1, 10, NOW)
    assert await release_leftovers(db, "e1") == 1
    assert (await _status(db, mine))["status"] == "new"
    assert (await _status(db, theirs))["status"] == "leased"
