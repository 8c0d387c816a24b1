"""Reading the compliance filter's data out of Postgres.

Lists come through binary COPY: each row of one bigint column is 14 bytes (field count,
length, value), so the values are picked out with strided slices and handed to pyroaring
as one array, without a Python object per number.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pyroaring import BitMap64

from dialer.core.compliance import (
    COMPLIANCE_KEYS,
    CampaignRules,
    Consent,
    ConsentBook,
    DncList,
    FilterData,
    History,
    ListSet,
    parse_campaign_rules,
)
from dialer.core.compliance.history import HORIZON

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_ROW = 14
_FLUSH = 14 * 1_000_000


class CopyFormatError(RuntimeError):
    """The COPY stream is not one non-null bigint column in PostgreSQL's binary format."""


class Int8CopySink:
    """Receives a binary COPY of one bigint column and adds every value to a bitmap."""

    def __init__(self, into: BitMap64 | None = None) -> None:
        self.bitmap = into if into is not None else BitMap64()
        self.rows = 0
        self._buf = bytearray()
        self._header_done = False

    async def __call__(self, chunk: bytes) -> None:
        self._buf += chunk
        if not self._header_done:
            self._take_header()
        if self._header_done and len(self._buf) >= _FLUSH:
            self._drain()

    def finish(self) -> BitMap64:
        self._drain()
        if bytes(self._buf) != b"\xff\xff":
            raise CopyFormatError(f"unexpected end of COPY data ({len(self._buf)} bytes left)")
        return self.bitmap

    def _take_header(self) -> None:
        if len(self._buf) < 19:
            return
        if bytes(self._buf[:11]) != _SIGNATURE:
            raise CopyFormatError("not a binary COPY stream")
        ext = int.from_bytes(self._buf[15:19], "big")
        if len(self._buf) >= 19 + ext:
            del self._buf[: 19 + ext]
            self._header_done = True

    def _drain(self) -> None:
        count = len(self._buf) // _ROW
        if count == 0:
            return
        raw = bytes(self._buf[: count * _ROW])
        del self._buf[: count * _ROW]
        self.bitmap.update(decode_int8_rows(raw, count))
        self.rows += count


def decode_int8_rows(raw: bytes, count: int) -> array[int]:
    """``count`` rows of (int16 1, int32 8, int64 big-endian) -> array of the values."""
    if raw[1::_ROW] != b"\x01" * count or raw[5::_ROW] != b"\x08" * count:
        raise CopyFormatError("COPY rows must hold exactly one non-null bigint")
    out = bytearray(8 * count)
    order = range(8) if sys.byteorder == "little" else range(7, -1, -1)
    for i, src in zip(order, range(13, 5, -1), strict=True):
        out[i::8] = raw[src::_ROW]
    values = array("Q")
    values.frombytes(out)
    return values


async def copy_bitmap(conn: asyncpg.Connection, query: str, *args: object) -> BitMap64:
    sink = Int8CopySink()
    await conn.copy_from_query(query, *args, output=sink, format="binary")
    bitmap = sink.finish()
    bitmap.shrink_to_fit()
    return bitmap


# ---- lists ---------------------------------------------------------------------------

LIST_ROWS = """
    SELECT l.id, l.name, l.kind, l.scope, v.id AS version_id, v.version, v.loaded_at
    FROM dnc_lists l LEFT JOIN dnc_list_versions v ON v.id = l.current_version
"""


async def list_rows(conn: asyncpg.Connection, list_id: int | None = None) -> list[Any]:
    if list_id is None:
        return list(await conn.fetch(LIST_ROWS))
    return list(await conn.fetch(LIST_ROWS + " WHERE l.id = $1", list_id))


_PARTITION = """
    SELECT n.nspname, c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.inhparent = 'dnc_numbers'::regclass
      AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%s)', $1::integer)
"""


async def copy_version(conn: asyncpg.Connection, version_id: int) -> BitMap64:
    """A version's numbers: straight from its own partition when it has one (COPY of a
    table is about a third faster than COPY of a query), else through the parent."""
    part = await conn.fetchrow(_PARTITION, version_id)
    if part is None:
        return await copy_bitmap(
            conn, "SELECT phone FROM dnc_numbers WHERE version_id = $1", version_id)
    sink = Int8CopySink()
    await conn.copy_from_table(part["relname"], schema_name=part["nspname"],
                               columns=["phone"], output=sink, format="binary")
    bitmap = sink.finish()
    bitmap.shrink_to_fit()
    return bitmap


async def load_list(conn: asyncpg.Connection, row: Mapping[str, Any]) -> DncList:
    """One list's current version as a bitmap (empty when it has no version yet)."""
    numbers = BitMap64()
    if row["version_id"] is not None:
        numbers = await copy_version(conn, row["version_id"])
    return DncList(row["id"], row["name"], row["kind"], row["scope"], row["version_id"],
                   row["loaded_at"], numbers)


async def load_opt_outs(conn: asyncpg.Connection) -> BitMap64:
    return await copy_bitmap(conn, "SELECT phone FROM opt_outs")


# ---- consents and history ------------------------------------------------------------

async def load_consents(conn: asyncpg.Connection) -> ConsentBook:
    book = ConsentBook()
    rows = await conn.fetch(
        "SELECT id, phone, scope, type, obtained_at, expires_at, revoked_at FROM consents"
        " ORDER BY id")
    for r in rows:
        book.upsert(Consent(r["phone"], r["scope"], r["type"], r["obtained_at"],
                            r["expires_at"], r["revoked_at"], r["id"]))
    return book


async def load_history(conn: asyncpg.Connection, now: datetime,
                       horizon: timedelta = HORIZON) -> History:
    history = History(consents=await load_consents(conn))
    rows = await conn.fetch(
        """SELECT a.id::text AS id, a.phone, c.name AS campaign, a.live_answer, a.abandoned,
                  coalesce(a.originated_at, a.created_at) AS at
           FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id
           WHERE a.created_at > $1 ORDER BY at""", now - horizon)
    for r in rows:
        note_row(history, r)
    return history


def note_row(history: History, r: Mapping[str, Any]) -> None:
    """Count one attempt (a row, or a feed payload with the same keys)."""
    history.attempts.note(r["phone"], r["at"], r["abandoned"], r["id"])
    if r.get("campaign"):
        history.ledger.note(r["campaign"], r["at"], r["live_answer"], r["abandoned"], r["id"])


# ---- campaigns -----------------------------------------------------------------------

async def campaign_rules(conn: asyncpg.Connection, name: str) -> CampaignRules | None:
    """The compliance keys of a campaign's stored definition, parsed; None when absent."""
    row = await conn.fetchrow("SELECT definition FROM campaigns WHERE name = $1", name)
    if row is None:
        return None
    definition = row["definition"]
    if isinstance(definition, str):
        definition = json.loads(definition)
    return parse_campaign_rules(compliance_keys(definition), f"campaigns.{name}", name=name)


def compliance_keys(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The compliance keys of a stored definition: at its top level, or gathered under
    ``compliance`` (as the campaign loader stores them; those win)."""
    nested = definition.get("compliance")
    merged = {**definition, **(nested if isinstance(nested, Mapping) else {})}
    return {k: v for k, v in merged.items() if k in COMPLIANCE_KEYS}


# ---- a few numbers only (explaining a verdict) ---------------------------------------

async def load_for_numbers(conn: asyncpg.Connection, phones: list[int], campaign: str,
                           now: datetime) -> FilterData:
    """The filter's data restricted to ``phones``: the same verdicts as the full filter for
    those numbers, without loading whole lists."""
    lists: dict[int, DncList] = {}
    for row in await list_rows(conn):
        hits = await conn.fetch("SELECT phone FROM dnc_numbers WHERE version_id = $1"
                                " AND phone = ANY($2::bigint[])", row["version_id"], phones)
        lists[row["id"]] = DncList(row["id"], row["name"], row["kind"], row["scope"],
                                   row["version_id"], row["loaded_at"],
                                   BitMap64([r["phone"] for r in hits]))
    opted = await conn.fetch("SELECT phone FROM opt_outs WHERE phone = ANY($1::bigint[])",
                             phones)
    history = History()
    await _consents_for(conn, history, phones)
    await _attempts_for(conn, history, phones, campaign, now)
    return FilterData(ListSet.build(lists, BitMap64([r["phone"] for r in opted])), history)


async def _consents_for(conn: asyncpg.Connection, history: History, phones: list[int]) -> None:
    rows = await conn.fetch(
        "SELECT id, phone, scope, type, obtained_at, expires_at, revoked_at FROM consents"
        " WHERE phone = ANY($1::bigint[]) ORDER BY id", phones)
    for r in rows:
        history.consents.upsert(Consent(r["phone"], r["scope"], r["type"], r["obtained_at"],
                                        r["expires_at"], r["revoked_at"], r["id"]))


async def _attempts_for(conn: asyncpg.Connection, history: History, phones: list[int],
                        campaign: str, now: datetime) -> None:
    rows = await conn.fetch(
        """SELECT a.id::text AS id, a.phone, c.name AS campaign, a.live_answer, a.abandoned,
                  coalesce(a.originated_at, a.created_at) AS at
           FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id
           WHERE a.created_at > $1 AND (a.phone = ANY($2::bigint[]) OR c.name = $3)
           ORDER BY at""", now - HORIZON, phones, campaign)
    wanted = set(phones)
    for r in rows:
        if r["phone"] in wanted:
            history.attempts.note(r["phone"], r["at"], r["abandoned"], r["id"])
        if r["campaign"] == campaign:
            history.ledger.note(campaign, r["at"], r["live_answer"], r["abandoned"], r["id"])
