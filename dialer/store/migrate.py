"""Numbered SQL migrations: `sql/NNN_name.sql`, applied in order, each in its own
transaction, recorded with a checksum in `schema_migrations`."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6469616C  # advisory lock: one migrator at a time


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def sql_dir() -> Path:
    """The migrations folder: the packaged copy, or the repository's `sql/`."""
    packaged = Path(__file__).resolve().parent.parent / "sql"
    repo = Path(__file__).resolve().parents[2] / "sql"
    return packaged if packaged.is_dir() else repo


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or sql_dir()
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path}: migration files must be named NNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"{path}: version {version:03d} is used twice")
        found[version] = Migration(version, m.group(2), path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def _applied(conn: asyncpg.Connection) -> dict[int, str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {r["version"]: r["checksum"] for r in rows}


def _check_unchanged(mig: Migration, applied: dict[int, str]) -> bool:
    """True when already applied; raises when the file changed since."""
    recorded = applied.get(mig.version)
    if recorded is None:
        return False
    if recorded != mig.checksum:
        raise MigrationError(
            f"migration {mig.path.name} was changed after it was applied "
            f"(recorded checksum {recorded[:12]}, file now {mig.checksum[:12]}); "
            "add a new migration instead of editing an applied one"
        )
    return True


async def migrate(conn: asyncpg.Connection, directory: Path | None = None) -> list[Migration]:
    """Apply pending migrations; returns the ones applied now (empty: a no-op)."""
    migrations = discover(directory)
    done: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        applied = await _applied(conn)
        for mig in migrations:
            if _check_unchanged(mig, applied):
                continue
            async with conn.transaction():
                try:
                    await conn.execute(mig.sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"migration {mig.path.name} failed: {exc}") from exc
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    mig.version, mig.name, mig.checksum,
                )
            done.append(mig)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return done


async def schema_version(pool: asyncpg.Pool) -> int:
    """The highest applied migration (0 for an empty database)."""
    try:
        have = await pool.fetchval("SELECT max(version) FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        return 0
    return int(have or 0)
