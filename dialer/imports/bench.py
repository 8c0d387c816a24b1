"""`dialer bench import`: load a synthetic national DNC file (10M numbers by default)
and a lead file into a database, and print the figures."""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from dialer.cmd import SubParsers, connect, run_async


def register_bench(bench: SubParsers) -> None:
    p = bench.add_parser("import", help="DNC and lead import throughput")
    p.add_argument("--numbers", type=int, default=10_000_000, help="DNC numbers to load")
    p.add_argument("--leads", type=int, default=200_000, help="lead rows to load")
    p.add_argument("--dsn", help="database (default: a throwaway embedded server)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=lambda a: run_async(_bench(a)))


def write_dnc_file(path: Path, count: int, seed: int) -> None:
    """National-registry style: one ten-digit number per line."""
    rng = random.Random(seed)
    with open(path, "w", encoding="ascii") as fh:
        for _ in range(count // 100_000 + 1):
            n = min(100_000, count)
            count -= n
            fh.write("".join(f"{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}\n"
                             for _ in range(n)))


def write_lead_file(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    states = ["CA", "TX", "NY", "FL", "IL", "WA", "OH"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("phone,state,zip,first_name\n")
        for i in range(count):
            fh.write(f"(212) {rng.randint(200, 999)}-{i % 10000:04d},{rng.choice(states)},"
                     f"{rng.randint(10000, 99999)},name{i}\n")


async def _bench(args: argparse.Namespace) -> int:
    from dialer.store import embedded

    server = None if args.dsn else embedded.start()
    dsn = args.dsn or (server.dsn() if server else "")
    try:
        with tempfile.TemporaryDirectory(prefix="dialer-bench-") as tmp:
            await _run(dsn, Path(tmp), args)
    finally:
        if server is not None:
            server.stop()
    return 0


async def _run(dsn: str, tmp: Path, args: argparse.Namespace) -> None:
    from dialer.imports.dnc import import_dnc
    from dialer.imports.leads import import_leads
    from dialer.store.migrate import migrate

    conn = await connect(dsn)
    try:
        await migrate(conn)
        await conn.execute("INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, "
                           "definition) VALUES ('bench', 'predictive', '+12125550000', 20, "
                           "'{}') ON CONFLICT DO NOTHING")
        t = time.perf_counter()
        write_dnc_file(tmp / "dnc.txt", args.numbers, args.seed)
        print(f"generated {args.numbers:,} DNC numbers in {time.perf_counter() - t:.1f} s")
        res = await import_dnc(conn, tmp / "dnc.txt", name="bench-national", kind="national",
                               scope="US", region="US", show_progress=False)
        print(f"dnc import: {res.loaded.rows:,} numbers in {res.seconds:.1f} s "
              f"({res.loaded.rows / res.seconds:,.0f} numbers/s; target 10M in <= 60 s)")
        write_lead_file(tmp / "leads.csv", args.leads, args.seed)
        lres = await import_leads(conn, tmp / "leads.csv", campaign="bench", region="US",
                                  show_progress=False)
        print(f"lead import: {lres.imported:,} imported, {lres.rejected:,} rejected in "
              f"{lres.seconds:.1f} s ({(lres.imported + lres.rejected) / lres.seconds:,.0f} "
              "rows/s)")
    finally:
        await conn.close()
