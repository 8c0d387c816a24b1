from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from dialer.store.migrate import MigrationError, discover, migrate


async def test_migrations_apply_to_empty_database_and_reapply_as_noop(pg_server) -> None:
    admin = await asyncpg.connect(pg_server.dsn())
    await admin.execute("CREATE DATABASE mig_empty")
    conn = await asyncpg.connect(pg_server.dsn("mig_empty"))
    try:
        first = await migrate(conn)
        assert [m.version for m in first] == [m.version for m in discover()]
        assert await migrate(conn) == []
        recorded = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY 1")
        assert [(r["version"], r["checksum"]) for r in recorded] == [
            (m.version, m.checksum) for m in discover()
        ]
    finally:
        await conn.close()
        await admin.execute("DROP DATABASE mig_empty WITH (FORCE)")
        await admin.close()


async def test_changed_applied_migration_is_refused_with_its_name(db_dsn, tmp_path: Path) -> None:
    for mig in discover():
        (tmp_path / mig.path.name).write_text(mig.sql + "\n-- edited\n")
    conn = await asyncpg.connect(db_dsn)
    try:
        with pytest.raises(MigrationError, match=r"001_init\.sql was changed after it was applied"):
            await migrate(conn, tmp_path)
    finally:
        await conn.close()


async def test_failing_migration_leaves_nothing_behind(db_dsn, tmp_path: Path) -> None:
    for mig in discover():
        (tmp_path / mig.path.name).write_text(mig.sql)
    (tmp_path / "900_broken.sql").write_text("CREATE TABLE half_done (x int);\nSELECT nonsense(;\n")
    conn = await asyncpg.connect(db_dsn)
    try:
        with pytest.raises(MigrationError, match=r"900_broken\.sql failed"):
            await migrate(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        count = "SELECT count(*) FROM schema_migrations WHERE version = 900"
        assert await conn.fetchval(count) == 0
    finally:
        await conn.close()
