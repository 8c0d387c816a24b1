"""`dialer run` and `dialer demo`."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from dialer.cmd import SubParsers, add_config_option, connect, run_async


def register(sub: SubParsers, bench: SubParsers) -> None:
    demo = sub.add_parser("demo", help="the whole dialer on embedded defaults")
    demo.add_argument("--leads", type=int, default=300, help="demo leads to load")
    demo.set_defaults(func=lambda a: run_async(_demo(a)))
    run = sub.add_parser("run", help="run every active campaign")
    add_config_option(run)


async def _demo(args: argparse.Namespace) -> int:
    from dialer.demo.data import load_demo
    from dialer.store import embedded
    from dialer.store.migrate import migrate

    print("starting an embedded PostgreSQL ...")
    server = embedded.start()
    try:
        conn = await connect(server.dsn())
        try:
            applied = await migrate(conn)
            print(f"migrated ({len(applied)} migrations)")
            with tempfile.TemporaryDirectory(prefix="dialer-demo-") as tmp:
                await load_demo(conn, Path(tmp), args.leads)
            n = await conn.fetchval("SELECT count(*) FROM leads")
            lists = await conn.fetch("SELECT name, row_count FROM dnc_lists ORDER BY name")
        finally:
            await conn.close()
        print(f"demo campaign loaded: {n} leads; DNC lists: "
              + ", ".join(f"{r['name']} ({r['row_count']})" for r in lists))
    finally:
        server.stop()
    return 0
