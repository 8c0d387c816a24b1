"""Do-not-call lists: each import is a new version in its own partition, swapped in
by one transaction, so readers see the old list or the new one, never half."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass

import asyncpg

KINDS = ("national", "state", "internal", "campaign", "litigator")


class ListError(ValueError):
    """The list cannot be imported as asked (kind or scope clash)."""


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    list_id: int
    version: int
    version_id: int
    rows: int
    replaced: int | None


async def _ensure_list(conn: asyncpg.Connection, name: str, kind: str,
                       scope: str | None) -> int:
    row = await conn.fetchrow(
        "SELECT id, kind, scope FROM dnc_lists WHERE name = $1 FOR UPDATE", name)
    if row is None:
        return int(await conn.fetchval(
            "INSERT INTO dnc_lists (name, kind, scope) VALUES ($1, $2, $3) RETURNING id",
            name, kind, scope))
    if (row["kind"], row["scope"]) != (kind, scope):
        raise ListError(f"list {name!r} exists with kind {row['kind']} and scope "
                        f"{row['scope']}; it cannot be re-imported as {kind} {scope}")
    return int(row["id"])


async def _new_version(conn: asyncpg.Connection, list_id: int, source: str) -> tuple[int, int]:
    version = await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM dnc_list_versions WHERE list_id = $1",
        list_id)
    vid = await conn.fetchval(
        "INSERT INTO dnc_list_versions (list_id, version, source) VALUES ($1, $2, $3) "
        "RETURNING id", list_id, version, source)
    await conn.execute(
        f"CREATE TABLE dnc_numbers_v{int(vid)} PARTITION OF dnc_numbers "
        f"(version_id DEFAULT {int(vid)}) FOR VALUES IN ({int(vid)})")
    return int(version), int(vid)


async def _swap(conn: asyncpg.Connection, list_id: int, vid: int, rows: int) -> int | None:
    old = await conn.fetchval("SELECT current_version FROM dnc_lists WHERE id = $1", list_id)
    await conn.execute(f"CREATE INDEX ON dnc_numbers_v{vid} (phone)")
    await conn.execute("UPDATE dnc_list_versions SET row_count = $2 WHERE id = $1", vid, rows)
    await conn.execute(
        "UPDATE dnc_lists SET current_version = $2, loaded_at = now(), row_count = $3 "
        "WHERE id = $1", list_id, vid, rows)
    if old is not None:
        await conn.execute(f"DROP TABLE dnc_numbers_v{int(old)}")
    return int(old) if old is not None else None


async def import_list(conn: asyncpg.Connection, *, name: str, kind: str, scope: str | None,
                      source: str, numbers: Iterable[tuple[int]] | AsyncIterable[tuple[int]]
                      ) -> LoadedVersion:
    """Load ``numbers`` as the new version of list ``name`` in one transaction."""
    if kind not in KINDS:
        raise ListError(f"unknown list kind {kind!r} (expected one of {', '.join(KINDS)})")
    async with conn.transaction():
        # Row triggers announce single additions; a whole new version is announced
        # once, by the swap of current_version.
        await conn.execute("SET LOCAL dialer.bulk_load = 'on'")
        list_id = await _ensure_list(conn, name, kind, scope)
        version, vid = await _new_version(conn, list_id, source)
        result = await conn.copy_records_to_table(
            f"dnc_numbers_v{vid}", columns=["phone"], records=numbers)
        rows = int(result.split()[-1])
        if rows == 0:
            raise ListError(f"no numbers to load; list {name!r} was left unchanged")
        replaced = await _swap(conn, list_id, vid, rows)
    return LoadedVersion(list_id, version, vid, rows, replaced)
