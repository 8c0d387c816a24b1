"""Connection pools. `store/` is the only package that speaks SQL."""

from __future__ import annotations

import asyncpg

# Postgres unreachable, restarting or cutting a connection mid-query (asyncpg may then
# report an internal state error): wait and try again.
DB_DOWN: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.InternalClientError)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced, for logs and errors."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return dsn
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in creds else ''}@{host}"
