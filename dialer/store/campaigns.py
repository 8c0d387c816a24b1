"""Campaign rows: the validated definition plus the columns the engine filters on."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from dialer.campaigns import CampaignDef

_COLUMNS = ("name, mode, call_type, region, brand, caller_id, originate_via, ring_timeout_s, "
            "abandon_target, time_rules, retry_rules, recordings, definition")


class CampaignExists(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"campaign {name!r} already exists (use --update to change it)")


def _row(camp: CampaignDef) -> tuple[Any, ...]:
    rules = camp.compliance
    time_rules = {k: rules[k] for k in ("calling_hours", "banned_weekdays", "banned_dates")
                  if k in rules}
    definition = json.loads(camp.to_json())
    return (camp.name, camp.mode, rules.get("call_type", "telemarketing"), camp.region,
            rules.get("brand"), camp.caller_id, camp.originate_via, int(camp.ring_timeout),
            float(rules.get("abandon_target", 0.03)), json.dumps(time_rules, default=str),
            json.dumps(definition["retry"]), json.dumps(definition["recordings"]),
            json.dumps(definition))


async def create(conn: asyncpg.Connection, camp: CampaignDef, *, update: bool = False) -> str:
    """Insert (or with ``update`` replace) a campaign; returns 'created' or 'updated'."""
    values = _row(camp)
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    if update:
        sets = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _COLUMNS.split(",")[1:])
        sql = (f"INSERT INTO campaigns ({_COLUMNS}) VALUES ({placeholders}) ON CONFLICT (name) "
               f"DO UPDATE SET {sets}, updated_at = now() RETURNING (xmax = 0) AS created")
        created = await conn.fetchval(sql, *values)
        return "created" if created else "updated"
    try:
        await conn.execute(f"INSERT INTO campaigns ({_COLUMNS}) VALUES ({placeholders})", *values)
    except asyncpg.UniqueViolationError:
        raise CampaignExists(camp.name) from None
    return "created"


async def list_all(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT c.name, c.status, c.mode, c.originate_via, c.caller_id, "
        "(SELECT count(*) FROM leads l WHERE l.campaign_id = c.id) AS leads "
        "FROM campaigns c ORDER BY c.name")


async def get(conn: asyncpg.Connection, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM campaigns WHERE name = $1", name)


async def set_status(conn: asyncpg.Connection, name: str, status: str) -> bool:
    done = await conn.execute(
        "UPDATE campaigns SET status = $2, updated_at = now() WHERE name = $1", name, status)
    return done != "UPDATE 0"


async def runnable(pool: asyncpg.Pool, names: list[str]) -> list[asyncpg.Record]:
    """The campaigns an engine runs: those named (its `engine.campaigns`, whatever their
    status), or every active one when it names none."""
    if names:
        return await pool.fetch("SELECT id, name, status, definition FROM campaigns "
                                "WHERE name = ANY($1::text[]) ORDER BY id", names)
    return await pool.fetch("SELECT id, name, status, definition FROM campaigns "
                            "WHERE status = 'active' ORDER BY id")


async def by_id(pool: asyncpg.Pool, campaign_id: int) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT id, name, status, definition FROM campaigns "
                               "WHERE id = $1", campaign_id)
