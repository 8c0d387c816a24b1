"""Consent records: bulk insert of validated rows in one transaction."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

CONSENT_COLUMNS = ["phone", "scope", "type", "obtained_at", "source", "evidence",
                   "expires_at", "revoked_at"]


async def insert_consents(conn: asyncpg.Connection, rows: Iterable[tuple[object, ...]]) -> int:
    result = await conn.copy_records_to_table("consents", columns=CONSENT_COLUMNS, records=rows)
    return int(result.split()[-1])
