"""Leasing leads to engines with ``FOR UPDATE SKIP LOCKED``.

A lease marks a dialable lead ``leased`` for one owner; the status it had before is kept
in ``lease_prior_status``, so releasing puts it back as it was. A lease is held for as
long as its owner lives: leads of a dead engine (see :mod:`dialer.store.engines`) are
swept back by the living, and never because a lease is merely old
(``lease_expires_at`` only tells when the lease was meant to be used).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from dialer.store.engines import DEAD

DIALABLE = ("new", "retry", "callback")
_PRIOR = "coalesce(lease_prior_status, CASE WHEN attempts > 0 THEN 'retry' ELSE 'new' END)"

_LEASE = """
WITH picked AS (
    SELECT id FROM leads
    WHERE campaign_id = $1 AND status IN ('new', 'retry', 'callback')
      AND next_attempt_at <= $2
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
UPDATE leads l
SET status = 'leased', lease_prior_status = l.status, lease_owner = $4, lease_expires_at = $5
FROM picked WHERE l.id = picked.id
RETURNING l.id, l.campaign_id, l.phone, l.state, l.zip, l.time_zones, l.attempts, l.custom,
          l.next_attempt_at
"""


@dataclass(frozen=True, slots=True)
class LeasedLead:
    lead_id: int
    campaign_id: int
    phone: int
    state: str | None
    zip: str | None
    time_zones: tuple[str, ...]
    attempts: int
    custom: dict[str, Any] = field(hash=False)


def _lead(rec: asyncpg.Record) -> LeasedLead:
    state = rec["state"].strip() if rec["state"] is not None else None
    return LeasedLead(lead_id=rec["id"], campaign_id=rec["campaign_id"], phone=rec["phone"],
                      state=state, zip=rec["zip"], time_zones=tuple(rec["time_zones"] or ()),
                      attempts=rec["attempts"], custom=_json(rec["custom"]))


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


async def lease_leads(pool: asyncpg.Pool, campaign_id: int, owner: str, limit: int,
                      lease_seconds: float, now: datetime) -> list[LeasedLead]:
    """Lease up to ``limit`` due leads of a campaign, in due order; none is leased twice."""
    if limit <= 0:
        return []
    if lease_seconds <= 0:
        raise ValueError(f"lease_seconds must be positive, got {lease_seconds}")
    _check_aware("now", now)
    expires = now + timedelta(seconds=lease_seconds)
    rows = await pool.fetch(_LEASE, campaign_id, now, limit, owner, expires)
    rows = sorted(rows, key=lambda r: (r["next_attempt_at"], r["id"]))
    return [_lead(r) for r in rows]


_RELEASE = f"""status = {_PRIOR}, lease_prior_status = NULL, lease_owner = NULL,
               lease_expires_at = NULL"""


async def release_leads(pool: asyncpg.Pool, lead_ids: Sequence[int], owner: str) -> int:
    """Give back leases not yet dialled; only those still held by ``owner``."""
    done = await pool.execute(
        f"""UPDATE leads SET {_RELEASE}
            WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND status = 'leased'""",
        list(lead_ids), owner)
    return _count(done)
_NO_OPEN_ATTEMPT = """NOT EXISTS (SELECT 1 FROM call_attempts a
                                  WHERE a.lead_id = leads.id AND a.ended_at IS NULL)"""


async def sweep_dead_leases(pool: asyncpg.Pool, me: str, stale: float) -> int:
    """Give back the leads held by dead engines (their heartbeat older than ``stale``
    seconds, as judged by engine ``me``), never one whose attempt is still open: that
    one waits until reconciliation closes the attempt."""
    done = await pool.execute(
        f"""UPDATE leads SET {_RELEASE}
            WHERE status IN ('leased', 'dialing') AND lease_owner IS NOT NULL
              AND lease_owner <> $1 AND {DEAD.format(owner="leads.lease_owner")}
              AND {_NO_OPEN_ATTEMPT}""", me, stale)
    return _count(done)


async def release_leftovers(pool: asyncpg.Pool, me: str) -> int:
    """At start: leads an earlier run of this engine held and never dialled."""
    done = await pool.execute(
        f"""UPDATE leads SET {_RELEASE}
            WHERE lease_owner = $1 AND status IN ('leased', 'dialing')
              AND {_NO_OPEN_ATTEMPT}""", me)
    return _count(done)


def _count(status: str) -> int:
    return int(status.split()[-1])
