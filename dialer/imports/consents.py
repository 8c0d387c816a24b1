"""`dialer consent import`: consent and business-relationship records.

Columns: phone, scope (`campaign:NAME` or `brand:NAME`), type, obtained_at, source,
evidence, expires_at, revoked_at. Times are ISO 8601; a time without an offset is
taken as UTC, a bare date as midnight UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from dialer.imports.numbers import e164_int, parse_lead_number
from dialer.imports.progress import Progress
from dialer.imports.runner import ImportResult, run_csv_import
from dialer.imports.source import (
    CsvRows,
    ParsedRows,
    RejectsWriter,
    Row,
    RowError,
)
from dialer.store.consents import insert_consents

CONSENT_TYPES = ("express_written", "express", "ebr_purchase", "ebr_inquiry")
_SCOPE = re.compile(r"^(campaign|brand):\S.*$")


def parse_time(text: str, column: str, *, required: bool = False) -> datetime | None:
    value = text.strip()
    if not value:
        if required:
            raise RowError(f"{column} is empty")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"{column} {value!r} is not an ISO 8601 date or time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ConsentRows(ParsedRows):
    def __init__(self, csv_rows: CsvRows, region: str, rejects: RejectsWriter,
                 progress: Progress) -> None:
        super().__init__(csv_rows, rejects, progress)
        self.region = region

    def parse(self, row: Row) -> tuple[object, ...]:
        f = row.fields
        phone = e164_int(parse_lead_number(f["phone"], self.region))
        scope, kind = f["scope"].strip(), f["type"].strip()
        if not _SCOPE.match(scope):
            raise RowError(f"scope {scope!r} must be campaign:NAME or brand:NAME")
        if kind not in CONSENT_TYPES:
            raise RowError(f"type {kind!r} must be one of {', '.join(CONSENT_TYPES)}")
        obtained = parse_time(f["obtained_at"], "obtained_at", required=True)
        expires = parse_time(f.get("expires_at", ""), "expires_at")
        revoked = parse_time(f.get("revoked_at", ""), "revoked_at")
        if expires is not None and obtained is not None and expires <= obtained:
            raise RowError("expires_at is not after obtained_at")
        return (phone, scope, kind, obtained, f.get("source") or None,
                f.get("evidence") or None, expires, revoked)


async def import_consents(conn: asyncpg.Connection, path: Path, *, region: str,
                          show_progress: bool | None = None) -> ImportResult:
    async def load(csv_rows: CsvRows, rejects: RejectsWriter, progress: Progress) -> int:
        async with conn.transaction():
            return await insert_consents(conn, ConsentRows(csv_rows, region, rejects, progress))

    return await run_csv_import(path, required=("phone", "scope", "type", "obtained_at"),
                                label="consents", show_progress=show_progress, load=load)
