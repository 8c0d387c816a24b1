"""Shared fixtures: one embedded PostgreSQL per test session, a fresh migrated
database per test (cloned from a template, so it takes milliseconds)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from dialer.store import embedded
from dialer.store.migrate import migrate

SHARED = Path(__file__).resolve().parents[2] / "shared"
TRACES = SHARED / "asterisk" / "traces"
ARI_DOCS = SHARED / "asterisk" / "ari-api-docs"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[embedded.EmbeddedPostgres]:
    server = embedded.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: embedded.EmbeddedPostgres) -> str:
    """Name of a migrated template database."""
    import asyncio

    async def build() -> None:
        conn = await asyncpg.connect(pg_server.dsn())
        await conn.execute("CREATE DATABASE dialer_template")
        await conn.close()
        conn = await asyncpg.connect(pg_server.dsn("dialer_template"))
        await migrate(conn)
        await conn.close()

    asyncio.run(build())
    return "dialer_template"


@pytest.fixture
async def db_dsn(pg_server: embedded.EmbeddedPostgres, pg_template: str) -> AsyncIterator[str]:
    """DSN of a fresh, migrated database for this test only."""
    name = f"t_{next(_counter)}"
    admin = await asyncpg.connect(pg_server.dsn())
    await admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield pg_server.dsn(name)
    await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await admin.close()


@pytest.fixture
async def db(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=5)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
def traces() -> Path:
    if not TRACES.is_dir():
        pytest.skip("../shared/asterisk/traces is absent")
    return TRACES


@pytest.fixture
def ari_docs() -> Path:
    if not ARI_DOCS.is_dir():
        pytest.skip("../shared/asterisk/ari-api-docs is absent")
    return ARI_DOCS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under parallel workers (`make test`), the real-Asterisk tier and the chaos tests
    (heavy real processes, timed against real audio) share one worker, one at a time."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "tests" in parts and ("real" in parts or "chaos" in parts):
            item.add_marker(pytest.mark.xdist_group("heavy"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The real-Asterisk tier's summary lines (kept with their tests' reports)."""
    reports = [r for kind in ("passed", "failed") for r in terminalreporter.stats.get(kind, ())]
    lines = [str(v) for r in reports for k, v in getattr(r, "user_properties", ())
             if k == "real asterisk"]
    if lines:
        terminalreporter.section("real asterisk")
        for line in sorted(lines):
            terminalreporter.write_line(line)
