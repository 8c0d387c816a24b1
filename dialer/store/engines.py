"""The engine registry: every engine process on one database, with its heartbeat.

An engine registers at start with a stable id (from its config, else the id an earlier
engine on the same host and Asterisk used, else a new one) and a fresh run id. It beats
its heartbeat every few seconds; a beat that finds another run id in its row means a
newer process took the id over, and the old one must stop (it is fenced).

An engine is *dead* when its heartbeat is older than ``stale`` seconds (or it stopped
cleanly). The living take over what the dead left: leases go back to their leads, open
attempts and agent sessions are reconciled by the engine that now drives the same
Asterisk. A living engine judges others dead only once its own link to the database has
been unbroken for ``stale`` seconds, so that after a database outage nobody is declared
dead before it had a chance to beat again.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

_LOCK = 0x656E6731  # advisory lock: one registration at a time


class EngineConflict(RuntimeError):
    """This engine cannot start next to one already running; the message says why."""


class Fenced(RuntimeError):
    """A newer process took this engine's id over: this one must stop."""


@dataclass(frozen=True, slots=True)
class Registration:
    """``last_beat``: the last heartbeat of the run this one replaces, when it died
    rather than stopped (what others closed after it is worth a second look)."""

    engine_id: str
    run_id: str
    previous_run: str | None  # the run this one replaces (its leftovers are ours)
    last_beat: datetime | None = None

    @property
    def run_token(self) -> str:
        """Eight hex digits that make this run's Asterisk ids unique."""
        return self.run_id.replace("-", "")[:8]


@dataclass(frozen=True, slots=True)
class EngineRow:
    id: str
    run_id: str
    host: str
    pid: int
    asterisk: str
    heartbeat_age: float | None  # seconds; None: stopped


def _alive(row: EngineRow, stale: float) -> bool:
    return row.heartbeat_age is not None and row.heartbeat_age < stale


def _pid_gone(row: EngineRow, host: str) -> bool:
    """The row's process is certainly gone (same host, no such process)."""
    if row.host != host:
        return False
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_ROWS = """
SELECT id, run_id::text, host, pid, asterisk,
       extract(epoch FROM now() - heartbeat_at)::float8 AS age
FROM engines WHERE id = $1 OR asterisk = $2
"""
_LAST_BEAT = "SELECT heartbeat_at FROM engines WHERE id = $1"


async def register(pool: asyncpg.Pool, *, engine_id: str | None, host: str, pid: int,
                   asterisk: str, stale: float) -> Registration:
    """Register this process; refuse (EngineConflict) what cannot work."""
    run_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        rows = [EngineRow(*r.values()) for r in
                await conn.fetch(_ROWS, engine_id or "", asterisk)]
        chosen = engine_id or _reuse(rows, host, asterisk) or _new_id(host)
        _refuse(rows, chosen, host, asterisk, stale)
        previous = next((r.run_id for r in rows if r.id == chosen), None)
        last_beat = await conn.fetchval(_LAST_BEAT, chosen)
        await conn.execute(
            """INSERT INTO engines (id, run_id, host, pid, asterisk, heartbeat_at, up_since)
               VALUES ($1, $2, $3, $4, $5, now(), now())
               ON CONFLICT (id) DO UPDATE SET run_id = $2, host = $3, pid = $4,
                   asterisk = $5, started_at = now(), heartbeat_at = now(),
                   up_since = now(), stopped_at = NULL""",
            chosen, uuid.UUID(run_id), host, pid, asterisk)
    return Registration(chosen, run_id, previous, last_beat)


def _reuse(rows: list[EngineRow], host: str, asterisk: str) -> str | None:
    """The id an earlier engine on this host used for this Asterisk."""
    return next((r.id for r in rows if r.host == host and r.asterisk == asterisk), None)


def _new_id(host: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in host)[:40] or "engine"
    return f"{safe}-{secrets.token_hex(3)}"


def _refuse(rows: list[EngineRow], chosen: str, host: str, asterisk: str,
            stale: float) -> None:
    for row in rows:
        if not _alive(row, stale) or _pid_gone(row, host):
            continue
        where = f"host {row.host}, pid {row.pid}, heartbeat {row.heartbeat_age:.1f} s ago"
        if row.id == chosen:
            raise EngineConflict(
                f"engine id {chosen!r} is already running ({where}); give every engine "
                "its own engine.engine_id")
        if row.asterisk == asterisk:
            raise EngineConflict(
                f"the Asterisk at {asterisk} is already driven by engine {row.id!r} "
                f"({where}); two engines cannot share one Asterisk")


async def heartbeat(pool: asyncpg.Pool, reg: Registration, stale: float) -> None:
    """Beat; a link that was broken longer than ``stale`` restarts ``up_since``."""
    found = await pool.fetchval(
        """UPDATE engines SET heartbeat_at = now(),
               up_since = CASE WHEN heartbeat_at IS NULL
                                 OR heartbeat_at < now() - make_interval(secs => $3)
                               THEN now() ELSE up_since END
           WHERE id = $1 AND run_id = $2 RETURNING 1""",
        reg.engine_id, uuid.UUID(reg.run_id), stale)
    if found is None:
        raise Fenced(f"engine {reg.engine_id!r} was taken over by a newer process")


async def stopped(pool: asyncpg.Pool, reg: Registration) -> None:
    """A clean stop: what this engine held is released already; it is dead at once."""
    await pool.execute(
        "UPDATE engines SET heartbeat_at = NULL, stopped_at = now() "
        "WHERE id = $1 AND run_id = $2", reg.engine_id, uuid.UUID(reg.run_id))


# A dead engine, as seen by engine $1 whose own link has been up for $2 seconds at least.
DEAD = """(NOT EXISTS (SELECT 1 FROM engines e WHERE e.id = {owner}
                       AND e.heartbeat_at > now() - make_interval(secs => $2))
           AND (SELECT up_since FROM engines WHERE id = $1)
               < now() - make_interval(secs => $2))"""


async def dead_on(pool: asyncpg.Pool, reg: Registration, asterisk: str,
                  stale: float) -> list[str]:
    """Ids of dead engines that drove ``asterisk`` (this engine's own id included when
    its earlier run died): their calls and agents are this engine's to reconcile."""
    rows = await pool.fetch(
        """SELECT id FROM engines
           WHERE asterisk = $1 AND (id = $2 OR heartbeat_at IS NULL
                 OR heartbeat_at < now() - make_interval(secs => $3))""",
        asterisk, reg.engine_id, stale)
    return [r["id"] for r in rows]


async def engine_rows(pool: asyncpg.Pool) -> list[EngineRow]:
    rows = await pool.fetch(
        "SELECT id, run_id::text, host, pid, asterisk, "
        "extract(epoch FROM now() - heartbeat_at)::float8 FROM engines ORDER BY id")
    return [EngineRow(*r.values()) for r in rows]
