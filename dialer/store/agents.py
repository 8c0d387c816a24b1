"""Agents, their login sessions, dispositions and the callbacks they schedule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


class UnknownAttempt(LookupError):
    def __init__(self, attempt_id: str) -> None:
        super().__init__(f"no call attempt {attempt_id!r} (a disposition needs a recorded "
                         "attempt)")


class UnknownLead(LookupError):
    def __init__(self, lead_id: int, campaign_id: int) -> None:
        super().__init__(f"no lead {lead_id} in campaign {campaign_id}")


@dataclass(frozen=True, slots=True)
class Callback:
    callback_id: int
    lead_id: int
    campaign_id: int
    agent_id: int | None
    due_at: datetime
    phone: int


async def ensure_agent(pool: asyncpg.Pool, name: str, endpoint: str) -> int:
    """The agent's id, creating the agent or updating its endpoint."""
    if not name or not endpoint:
        raise ValueError(f"an agent needs a name and an endpoint, got {name!r}, {endpoint!r}")
    return int(await pool.fetchval(
        """INSERT INTO agents (name, endpoint) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET endpoint = EXCLUDED.endpoint RETURNING id""",
        name, endpoint))


async def open_session(pool: asyncpg.Pool, agent_id: int, campaign_id: int | None,
                       channel_id: str | None) -> int:
    """Start a login session; an agent's earlier open session is closed as superseded."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE agent_sessions SET logout_at = now(), logout_reason = 'superseded'
               WHERE agent_id = $1 AND logout_at IS NULL""", agent_id)
        return int(await conn.fetchval(
            """INSERT INTO agent_sessions (agent_id, campaign_id, channel_id)
               VALUES ($1, $2, $3) RETURNING id""", agent_id, campaign_id, channel_id))


async def close_session(pool: asyncpg.Pool, session_id: int, reason: str) -> bool:
    """End one session; False when it was unknown or already closed."""
    done = await pool.execute(
        """UPDATE agent_sessions SET logout_at = now(), logout_reason = $2
           WHERE id = $1 AND logout_at IS NULL""", session_id, reason)
    return str(done) != "UPDATE 0"


async def close_all_sessions(pool: asyncpg.Pool, reason: str) -> int:
    """End every open session (at start-up, after a crash); returns how many."""
    done = await pool.execute(
        "UPDATE agent_sessions SET logout_at = now(), logout_reason = $1 "
        "WHERE logout_at IS NULL", reason)
    return int(done.split()[-1])


async def record_disposition(pool: asyncpg.Pool, attempt_id: str, agent_id: int | None,
                             code: str, notes: str | None) -> int:
    if not code:
        raise ValueError("a disposition needs a code")
    try:
        aid = uuid.UUID(str(attempt_id))
    except ValueError:
        raise ValueError(f"attempt_id must be a UUID, got {attempt_id!r}") from None
    try:
        return int(await pool.fetchval(
            """INSERT INTO dispositions (attempt_id, agent_id, code, notes)
               VALUES ($1, $2, $3, $4) RETURNING id""", aid, agent_id, code, notes))
    except asyncpg.ForeignKeyViolationError as exc:
        if "attempt_id" in str(exc.detail or exc):
            raise UnknownAttempt(attempt_id) from None
        raise


async def schedule_callback(pool: asyncpg.Pool, lead_id: int, campaign_id: int,
                            agent_id: int | None, due_at: datetime) -> int:
    """Make the lead a callback due at ``due_at``; returns the callback's id."""
    if due_at.tzinfo is None:
        raise ValueError(f"due_at must be a timezone-aware datetime, got {due_at!r}")
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(
            """UPDATE leads SET status = 'callback', next_attempt_at = $3,
                      lease_owner = CASE WHEN status = 'dialing' THEN lease_owner END,
                      lease_expires_at = CASE WHEN status = 'dialing' THEN lease_expires_at END,
                      lease_prior_status = NULL
               WHERE id = $1 AND campaign_id = $2 RETURNING id""",
            lead_id, campaign_id, due_at)
        if found is None:
            raise UnknownLead(lead_id, campaign_id)
        return int(await conn.fetchval(
            """INSERT INTO callbacks (lead_id, campaign_id, agent_id, due_at)
               VALUES ($1, $2, $3, $4) RETURNING id""", lead_id, campaign_id, agent_id, due_at))


async def due_callbacks(pool: asyncpg.Pool, campaign_id: int, now: datetime,
                        limit: int = 100) -> list[Callback]:
    """Open callbacks of a campaign due by ``now``, earliest first."""
    rows = await pool.fetch(
        """SELECT c.id, c.lead_id, c.campaign_id, c.agent_id, c.due_at, l.phone
           FROM callbacks c JOIN leads l ON l.id = c.lead_id
           WHERE c.campaign_id = $1 AND c.done_at IS NULL AND c.due_at <= $2
           ORDER BY c.due_at, c.id LIMIT $3""", campaign_id, now, limit)
    return [Callback(*r.values()) for r in rows]
