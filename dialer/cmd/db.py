"""`dialer db migrate`."""

from __future__ import annotations

import argparse

from dialer.cmd import CliError, SubParsers, add_db_options, connect, resolve_dsn, run_async
from dialer.store.migrate import MigrationError, migrate


def register(sub: SubParsers, bench: SubParsers) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    mig = db_sub.add_parser("migrate", help="apply pending migrations from sql/")
    add_db_options(mig)
    mig.set_defaults(func=lambda args: run_async(_migrate(args)))


async def _migrate(args: argparse.Namespace) -> int:
    conn = await connect(resolve_dsn(args))
    try:
        applied = await migrate(conn)
    except MigrationError as exc:
        raise CliError(str(exc)) from None
    finally:
        await conn.close()
    for mig in applied:
        print(f"applied {mig.path.name}")
    print(f"{len(applied)} migration(s) applied" if applied else "schema is up to date")
    return 0
