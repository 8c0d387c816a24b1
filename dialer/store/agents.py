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


@dataclass(frozen=True, slots=True)
class OpenSession:
    """An agent's login that outlived its engine: what puts the agent back to work."""

    session_id: int
    agent_id: int
    agent: str
    endpoint: str
    campaign: str | None
    channel_id: str | None
    bridge_id: str | None
    paused_reason: str | None
    engine_id: str | None


async def open_session(pool: asyncpg.Pool, agent_id: int, campaign_id: int | None,
                       channel_id: str | None, engine_id: str | None = None) -> int:
    """Start a login session; an agent's earlier open session on this engine (or on no
    engine) is closed as superseded."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE agent_sessions SET logout_at = now(), logout_reason = 'superseded'
               WHERE agent_id = $1 AND logout_at IS NULL
                 AND engine_id IS NOT DISTINCT FROM $2""", agent_id, engine_id)
        return int(await conn.fetchval(
            """INSERT INTO agent_sessions (agent_id, campaign_id, channel_id, engine_id)
               VALUES ($1, $2, $3, $4) RETURNING id""",
            agent_id, campaign_id, channel_id, engine_id))


async def note_session(pool: asyncpg.Pool, session_id: int, *, channel_id: str | None,
                       bridge_id: str | None, paused_reason: str | None) -> None:
    """Keep the session's phone, bridge and pause reason current."""
    await pool.execute(
        """UPDATE agent_sessions SET channel_id = $2, bridge_id = $3, paused_reason = $4
           WHERE id = $1 AND logout_at IS NULL""",
        session_id, channel_id, bridge_id, paused_reason)


async def close_session(pool: asyncpg.Pool, session_id: int, reason: str) -> bool:
    """End one session; False when it was unknown or already closed."""
    done = await pool.execute(
        """UPDATE agent_sessions SET logout_at = now(), logout_reason = $2
           WHERE id = $1 AND logout_at IS NULL""", session_id, reason)
    return str(done) != "UPDATE 0"


async def sessions_of(pool: asyncpg.Pool, engine_ids: list[str]) -> list[OpenSession]:
    """Open sessions held by these engines, newest per agent."""
    rows = await pool.fetch(
        """SELECT DISTINCT ON (g.id) s.id, g.id, g.name, g.endpoint, c.name, s.channel_id,
                  s.bridge_id, s.paused_reason, s.engine_id
           FROM agent_sessions s JOIN agents g ON g.id = s.agent_id
           LEFT JOIN campaigns c ON c.id = s.campaign_id
           WHERE s.logout_at IS NULL AND s.engine_id = ANY($1::text[])
           ORDER BY g.id, s.login_at DESC, s.id DESC""", engine_ids)
    return [OpenSession(*r.values()) for r in rows]


async def adopt_sessions(pool: asyncpg.Pool, session_ids: list[int], engine_id: str) -> None:
    """These sessions now belong to ``engine_id``."""
    await pool.execute("UPDATE agent_sessions SET engine_id = $2 WHERE id = ANY($1::bigint[])",
                       session_ids, engine_id)


async def close_sessions_of(pool: asyncpg.Pool, engine_ids: list[str], reason: str) -> int:
    """End the open sessions of these engines (nothing left to put back); how many."""
    done = await pool.execute(
        "UPDATE agent_sessions SET logout_at = now(), logout_reason = $2 "
        "WHERE logout_at IS NULL AND engine_id = ANY($1::text[])", engine_ids, reason)
    return int(done.split()[-1])


async def engine_of_agent(pool: asyncpg.Pool, name: str, stale: float) -> str | None:
    """The living engine on which this agent is logged in, if any."""
    return await pool.fetchval(  # type: ignore[no-any-return]
        """SELECT s.engine_id FROM agent_sessions s JOIN agents g ON g.id = s.agent_id
           JOIN engines e ON e.id = s.engine_id
           WHERE g.name = $1 AND s.logout_at IS NULL
             AND e.heartbeat_at > now() - make_interval(secs => $2)
           ORDER BY s.login_at DESC LIMIT 1""", name, stale)


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
