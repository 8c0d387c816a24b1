"""`dialer leads import`: a CSV of leads for one campaign.

Numbers are normalised to E.164 (default region from the config); state, ZIP and the
number's time zones are worked out here, once, so the dial path does no parsing.
Bad rows are rejected with their line number into `<file>.rejects.csv`; the good rows
commit together, or nothing does.
"""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from dialer.core.compliance.numbers import number_facts
from dialer.imports.numbers import e164_int, parse_lead_number
from dialer.imports.progress import Progress
from dialer.imports.runner import ImportResult, run_csv_import
from dialer.imports.source import (
    CsvRows,
    ParsedRows,
    Reject,
    RejectsWriter,
    Row,
    RowError,
)
from dialer.store import leads as store

US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
})


class LeadRows(ParsedRows):
    """Staging tuples for the leads of one campaign."""

    def __init__(self, csv_rows: CsvRows, region: str, rejects: RejectsWriter,
                 progress: Progress, campaign_region: str = "US") -> None:
        super().__init__(csv_rows, rejects, progress)
        self.region, self.campaign_region = region, campaign_region

    def parse(self, row: Row) -> tuple[object, ...]:
        f = row.fields
        num = parse_lead_number(f.get("phone", ""), self.region)
        state = _state(f.get("state", ""), num.country_code)
        zip_code = _zip(f.get("zip", ""))
        facts = number_facts(e164_int(num), self.campaign_region, state, zip_code)
        if not facts.valid:
            raise RowError(f"phone {f['phone'].strip()!r} is not a valid number for the "
                           f"campaign's region {self.campaign_region}")
        custom = {k: v for k, v in f.items() if k not in ("phone", "state", "zip") and v != ""}
        return (row.line, facts.e164, state, zip_code, list(facts.time_zones),
                json.dumps(custom))


def _state(text: str, country_code: int | None) -> str | None:
    value = text.strip().upper()
    if not value:
        return None
    if country_code == 1 and value not in US_STATES:
        raise RowError(f"unknown state {text.strip()!r}")
    return value


def _zip(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not (len(value) in (5, 10) and value[:5].isdigit()):
        raise RowError(f"bad ZIP {value!r} (expected 12345 or 12345-6789)")
    return value[:5]


async def import_leads(conn: asyncpg.Connection, path: Path, *, campaign: str, region: str,
                       show_progress: bool | None = None) -> ImportResult:
    cid, campaign_region = await store.campaign_id_region(conn, campaign)

    async def load(csv_rows: CsvRows, rejects: RejectsWriter, progress: Progress) -> int:
        rows = LeadRows(csv_rows, region, rejects, progress, campaign_region)
        return await _load(conn, cid, rows, rejects)

    return await run_csv_import(path, required=("phone",), label=f"leads {campaign}",
                                show_progress=show_progress, load=load)


async def _load(conn: asyncpg.Connection, cid: int, rows: LeadRows,
                rejects: RejectsWriter) -> int:
    async with conn.transaction():
        await store.stage_leads(conn, rows)
        async for line, phone, reason in store.staged_duplicates(conn, cid):
            rejects.add(Reject(line, f"+{phone}: {reason}", ""))
        return await store.insert_staged(conn, cid)
