"""Attempts still open: what reconciliation reads after a crash, a restart or a
reconnect, and how it closes those whose call is gone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from dialer.store.engines import DEAD


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    """An attempt not yet ended, with what its row knows of the call."""

    attempt_id: str
    campaign_id: int
    lead_id: int | None
    phone: int
    engine_id: str | None
    lead_attempts: int
    originated_at: datetime | None
    answered_at: datetime | None
    amd_status: str | None
    amd_at: datetime | None
    live_answer: bool
    abandoned: bool
    bridged_at: datetime | None
    agent: str | None


_OPEN = """
SELECT a.id::text, a.campaign_id, a.lead_id, a.phone, a.engine_id,
       coalesce(l.attempts, 0), a.originated_at, a.answered_at, a.amd_status, a.amd_at,
       a.live_answer, a.abandoned, a.bridged_at, g.name
FROM call_attempts a
LEFT JOIN leads l ON l.id = a.lead_id
LEFT JOIN agents g ON g.id = a.agent_id
WHERE a.ended_at IS NULL AND a.source = 'engine' AND {where}
ORDER BY a.created_at, a.id
"""


async def open_attempts(pool: asyncpg.Pool, engine_ids: Sequence[str]) -> list[OpenAttempt]:
    """The open attempts of these engines."""
    rows = await pool.fetch(_OPEN.format(where="a.engine_id = ANY($1::text[])"),
                            list(engine_ids))
    return [OpenAttempt(*r.values()) for r in rows]


async def unclaimed_orphans(pool: asyncpg.Pool, me: str, stale: float, grace: float
                            ) -> list[OpenAttempt]:
    """Open attempts of engines dead for over ``grace`` seconds whose Asterisk no living
    engine drives: nobody can ever see those calls again."""
    where = f"""{DEAD.format(owner="a.engine_id")}
      AND EXISTS (SELECT 1 FROM engines d WHERE d.id = a.engine_id AND d.id <> $1
                  AND coalesce(d.heartbeat_at, d.stopped_at)
                      < now() - make_interval(secs => $3)
                  AND NOT EXISTS (SELECT 1 FROM engines o WHERE o.asterisk = d.asterisk
                                  AND o.heartbeat_at > now() - make_interval(secs => $2)))"""
    rows = await pool.fetch(_OPEN.format(where=where), me, stale, grace)
    return [OpenAttempt(*r.values()) for r in rows]


async def known_closed(pool: asyncpg.Pool, ids: Sequence[str]) -> set[str]:
    """Which of these channel ids are attempts already closed: their calls are over."""
    uuids = [i for i in ids if _is_uuid(i)]
    if not uuids:
        return set()
    rows = await pool.fetch("SELECT id::text FROM call_attempts "
                            "WHERE id = ANY($1::uuid[]) AND ended_at IS NOT NULL", uuids)
    return {r["id"] for r in rows}


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return len(text) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        ch in "0123456789abcdef" for p in parts for ch in p)


async def lost_while_away(pool: asyncpg.Pool, engine_id: str, since: datetime
                          ) -> list[tuple[str, int]]:
    """(attempt, phone) of this engine's attempts that others closed as ``lost`` after
    ``since``, while it was dead: Asterisk may know better now."""
    rows = await pool.fetch(
        "SELECT id::text, phone FROM call_attempts WHERE engine_id = $1 "
        "AND outcome = 'lost' AND ended_at >= $2", engine_id, since)
    return [(r["id"], int(r["phone"])) for r in rows]
