"""Writes behind the compliance commands: opt-outs and imported call history."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from dialer.core.compliance.numbers import parse_e164
from dialer.core.outcomes import OUTCOMES

LIVE = frozenset({"human", "abandoned", "optout"})
COLUMNS = ("phone", "campaign", "started_at", "outcome")


class AttemptsFileError(ValueError):
    """A row of an import file is wrong; the message names the file, line and column."""


@dataclass(frozen=True, slots=True)
class ImportedAttempt:
    phone: int
    campaign: str
    started_at: datetime
    outcome: str


async def insert_opt_out(conn: asyncpg.Connection | asyncpg.Pool, phone: int, channel: str,
                         attempt_id: str | None = None, reason: str | None = None) -> None:
    """The trigger on ``opt_outs`` tells every running filter."""
    await conn.execute(
        "INSERT INTO opt_outs (phone, channel, attempt_id, reason) VALUES ($1, $2, $3, $4)",
        phone, channel, attempt_id, reason)


def read_attempts(path: Path) -> list[ImportedAttempt]:
    """Every row of the CSV, validated; the first bad row raises with its line number."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise AttemptsFileError(f"{path}: missing column(s) {', '.join(missing)}")
        return [_row(path, reader.line_num, r) for r in reader]


def _row(path: Path, line: int, r: dict[str, str]) -> ImportedAttempt:
    where = f"{path}:{line}"
    parsed = parse_e164(r["phone"] or "", "US")
    if parsed is None:
        raise AttemptsFileError(f"{where}: phone: not a phone number: {r['phone']!r}")
    outcome = (r["outcome"] or "").strip()
    if outcome not in OUTCOMES:
        raise AttemptsFileError(f"{where}: outcome: {outcome!r} is not one of "
                           f"{', '.join(sorted(OUTCOMES))}")
    return ImportedAttempt(int(f"{parsed.country_code}{parsed.national_number}"),
                           (r["campaign"] or "").strip(), _when(where, r["started_at"]), outcome)


def _when(where: str, text: str | None) -> datetime:
    try:
        at = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise AttemptsFileError(f"{where}: started_at: not an ISO-8601 time: {text!r}") from None
    if at.tzinfo is None:
        raise AttemptsFileError(f"{where}: started_at: needs a UTC offset: {text!r}")
    return at


async def import_attempts(pool: asyncpg.Pool, rows: Iterable[ImportedAttempt]) -> int:
    """Insert all rows in one transaction, then tell the filters to reload their history."""
    rows = list(rows)
    async with pool.acquire() as conn, conn.transaction():
        ids = dict(await conn.fetch("SELECT name, id FROM campaigns"))
        unknown = sorted({r.campaign for r in rows} - set(ids))
        if unknown:
            raise AttemptsFileError(f"unknown campaign(s): {', '.join(unknown)}")
        await conn.execute("SET LOCAL dialer.bulk_load = 'on'")
        await conn.copy_records_to_table(
            "call_attempts", records=[_record(r, ids[r.campaign]) for r in rows],
            columns=["id", "campaign_id", "phone", "source", "originated_at", "ended_at",
                     "outcome", "live_answer", "abandoned", "created_at"])
        await conn.execute("SELECT pg_notify('dialer_compliance', '{\"t\": \"history\"}')")
    return len(rows)


def _record(r: ImportedAttempt, campaign_id: int) -> tuple[object, ...]:
    return (uuid.uuid4(), campaign_id, r.phone, "import", r.started_at, r.started_at,
            r.outcome, r.outcome in LIVE, r.outcome == "abandoned", r.started_at)
