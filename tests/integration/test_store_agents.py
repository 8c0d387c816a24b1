"""Agents, sessions, dispositions and callbacks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialer.store.agents import (
    UnknownAttempt,
    UnknownLead,
    close_session,
    close_sessions_of,
    due_callbacks,
    ensure_agent,
    open_session,
    record_disposition,
    schedule_callback,
    sessions_of,
)
from dialer.store.attempts import AttemptWriter
from dialer.store.hopper import lease_leads

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


async def _campaign(db: asyncpg.Pool) -> int:
    return int(await db.fetchval(
        "INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition) "
        "VALUES ('c1', 'progressive', '+15550001111', 20, '{}') RETURNING id"))


async def _lead(db: asyncpg.Pool, cid: int, phone: int = 15550400001) -> int:
    return int(await db.fetchval(
        "INSERT INTO leads (campaign_id, phone) VALUES ($1, $2) RETURNING id", cid, phone))


async def test_ensure_agent_creates_once_and_updates_the_endpoint(db: asyncpg.Pool) -> None:
    first = await ensure_agent(db, "ann", "PJSIP/agent1")
    again = await ensure_agent(db, "ann", "PJSIP/agent9")
    other = await ensure_agent(db, "bob", "PJSIP/agent2")
    assert first == again != other
    assert await db.fetchval("SELECT endpoint FROM agents WHERE id = $1", first) == "PJSIP/agent9"
    with pytest.raises(ValueError, match="endpoint"):
        await ensure_agent(db, "carl", "")


async def test_a_new_login_closes_the_agents_previous_session(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    ann = await ensure_agent(db, "ann", "PJSIP/agent1")
    first = await open_session(db, ann, cid, "chan-1")
    second = await open_session(db, ann, cid, "chan-2")
    rows = await db.fetch("SELECT id, logout_reason, logout_at IS NULL AS open "
                          "FROM agent_sessions ORDER BY id")
    assert [(r["id"], r["logout_reason"], r["open"]) for r in rows] == [
        (first, "superseded", False), (second, None, True)]


async def test_closing_a_session_records_why_once(db: asyncpg.Pool) -> None:
    ann = await ensure_agent(db, "ann", "PJSIP/agent1")
    session = await open_session(db, ann, None, None)
    assert await close_session(db, session, "phone_hangup")
    assert not await close_session(db, session, "logout")
    assert await db.fetchval("SELECT logout_reason FROM agent_sessions") == "phone_hangup"


async def test_sessions_of_one_engine_are_found_and_closed_without_touching_others(
        db: asyncpg.Pool) -> None:
    for name, engine in (("ann", "e1"), ("bob", "e1"), ("cat", "e2")):
        await open_session(db, await ensure_agent(db, name, f"PJSIP/{name}"), None, None,
                           engine)
    assert sorted(x.agent for x in await sessions_of(db, ["e1"])) == ["ann", "bob"]
    assert await close_sessions_of(db, ["e1"], "engine_stop") == 2
    assert await close_sessions_of(db, ["e1"], "engine_stop") == 0
    assert [x.agent for x in await sessions_of(db, ["e2"])] == ["cat"]


async def test_disposition_is_recorded_against_the_attempt(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    lead = await _lead(db, cid)
    ann = await ensure_agent(db, "ann", "PJSIP/agent1")
    writer = AttemptWriter(db)
    writer.start()
    aid = str(uuid.uuid4())
    writer.begin(aid, cid, lead, 15550400001, "e1", "ami", None, NOW)
    assert await writer.stop(5) == 0
    did = await record_disposition(db, aid, ann, "sale", "two units")
    row = await db.fetchrow("SELECT * FROM dispositions WHERE id = $1", did)
    assert (str(row["attempt_id"]), row["agent_id"], row["code"], row["notes"]) == (
        aid, ann, "sale", "two units")


async def test_disposition_for_an_unknown_attempt_is_refused_by_id(db: asyncpg.Pool) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(UnknownAttempt, match=missing):
        await record_disposition(db, missing, None, "sale", None)
    with pytest.raises(ValueError, match="'abc'"):
        await record_disposition(db, "abc", None, "sale", None)


async def test_callback_makes_the_lead_due_then(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    lead = await _lead(db, cid)
    await lease_leads(db, cid, "e1", 1, 60, NOW)
    ann = await ensure_agent(db, "ann", "PJSIP/agent1")
    due = NOW + timedelta(hours=3)
    cb = await schedule_callback(db, lead, cid, ann, due)
    row = await db.fetchrow("SELECT status, next_attempt_at, lease_owner FROM leads")
    assert (row["status"], row["next_attempt_at"], row["lease_owner"]) == ("callback", due, None)
    assert await due_callbacks(db, cid, NOW) == []
    (found,) = await due_callbacks(db, cid, due)
    assert (found.callback_id, found.lead_id, found.agent_id, found.phone) == (
        cb, lead, ann, 15550400001)
    assert await lease_leads(db, cid, "e1", 5, 60, due - timedelta(seconds=1)) == []
    assert [x.lead_id for x in await lease_leads(db, cid, "e1", 5, 60, due)] == [lead]


async def test_callback_for_a_lead_of_another_campaign_is_refused(db: asyncpg.Pool) -> None:
    cid = await _campaign(db)
    lead = await _lead(db, cid)
    with pytest.raises(UnknownLead, match=f"no lead {lead} in campaign {cid + 1}"):
        await schedule_callback(db, lead, cid + 1, None, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await schedule_callback(db, lead, cid, None, datetime(2026, 3, 3))
    assert await db.fetchval("SELECT count(*) FROM callbacks") == 0
