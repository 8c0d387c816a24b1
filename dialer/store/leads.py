"""Leads: bulk import through a temporary table, so that the good rows of a file
commit together (or none do) and duplicates are found by the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import asyncpg

LEAD_COLUMNS = ["line", "phone", "state", "zip", "time_zones", "custom"]


class UnknownCampaign(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown campaign {name!r} (create it with `dialer campaign create`)")
        self.name = name


async def campaign_id_region(conn: asyncpg.Connection, name: str) -> tuple[int, str]:
    row = await conn.fetchrow("SELECT id, region FROM campaigns WHERE name = $1", name)
    if row is None:
        raise UnknownCampaign(name)
    return int(row["id"]), str(row["region"])


async def stage_leads(conn: asyncpg.Connection, rows: Iterable[tuple[object, ...]]) -> int:
    """Copy parsed rows into a transaction-local staging table; returns the count."""
    await conn.execute(
        "CREATE TEMP TABLE lead_import (line integer, phone bigint, state text, zip text, "
        "time_zones text[], custom jsonb) ON COMMIT DROP")
    result = await conn.copy_records_to_table("lead_import", columns=LEAD_COLUMNS, records=rows)
    return int(result.split()[-1])


async def staged_duplicates(conn: asyncpg.Connection, cid: int
                            ) -> AsyncIterator[tuple[int, int, str]]:
    """(line, phone, reason) for staged rows that repeat the file or the campaign."""
    query = """
        SELECT line, phone, 'duplicate of line ' || first_line AS reason FROM (
            SELECT line, phone, first_value(line) OVER w AS first_line,
                   row_number() OVER w AS rn
            FROM lead_import WINDOW w AS (PARTITION BY phone ORDER BY line)) d
        WHERE rn > 1
        UNION ALL
        SELECT i.line, i.phone, 'already in the campaign' FROM lead_import i
        JOIN leads l ON l.campaign_id = $1 AND l.phone = i.phone
        ORDER BY 1"""
    async for rec in conn.cursor(query, cid):
        yield rec["line"], rec["phone"], rec["reason"]


async def insert_staged(conn: asyncpg.Connection, cid: int) -> int:
    """Insert the first row of each new number, keeping the file's order (ids follow it)."""
    result = await conn.execute(
        """INSERT INTO leads (campaign_id, phone, state, zip, time_zones, custom)
           SELECT $1, phone, state, zip, time_zones, custom FROM (
               SELECT DISTINCT ON (phone) line, phone, state, zip, time_zones, custom
               FROM lead_import i
               WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.campaign_id = $1
                                 AND l.phone = i.phone)
               ORDER BY phone, line) first_rows
           ORDER BY line""", cid)
    return int(result.split()[-1])
