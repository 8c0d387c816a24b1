"""`dialer bench compliance`: synthetic lists in Postgres, then load and check speed.

The national list is synthetic but has the registry's real density: about 258.5M numbers
over the ~3 billion geographic US numbers (8M per area code), so about one in eleven,
spread over real area codes.
"""

from __future__ import annotations

import random
import statistics
import time
from array import array
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import phonenumbers
from pyroaring import BitMap64

from dialer.core.compliance import NumberFacts, number_facts, parse_campaign_rules
from dialer.store.compliance import ComplianceFilter
from dialer.store.migrate import migrate

REGISTRY = 258_500_000
TARGET = 250_000_000
STRIDE = 11  # one number in eleven: the registry's density over geographic numbers
PER_AREA = 8_000_000 // STRIDE


def area_codes() -> list[int]:
    """Geographic US area codes, in a fixed shuffled order."""
    found = []
    for npa in range(201, 990):
        parsed = phonenumbers.parse(f"+1{npa}2345678")
        if phonenumbers.is_valid_number_for_region(parsed, "US") and npa % 100 != 0 \
                and str(npa)[1:] != "00" and npa not in (800, 833, 844, 855, 866, 877, 888, 900):
            found.append(npa)
    random.Random(7).shuffle(found)
    return found


@asynccontextmanager
async def database(dsn: str | None) -> AsyncIterator[str]:
    if dsn is not None:
        yield dsn
        return
    from dialer.store import embedded

    server = embedded.start(prefix="dialer-bench-")
    try:
        yield server.dsn()
    finally:
        server.stop()


async def build_lists(conn: asyncpg.Connection, n: int) -> None:
    await migrate(conn)
    npas = area_codes()
    if n > len(npas) * PER_AREA:
        raise ValueError(f"at most {len(npas) * PER_AREA} numbers at this density")
    await _list(conn, "bench-national", "national", "US", f"""
        SELECT 10000000000 + ($1::bigint[])[g / {PER_AREA} + 1] * 10000000 + 2000000
               + (g % {PER_AREA}) * {STRIDE} + floor(random() * {STRIDE})::bigint
        FROM generate_series(0, $2 - 1) g""", npas, n)
    for name, kind, scope, count in (("bench-internal", "internal", None, n // 250),
                                     ("bench-litigator", "litigator", None, n // 1000),
                                     ("bench-fl", "state", "FL", n // 50)):
        await _list(conn, name, kind, scope, """
            SELECT 10000000000 + ($1::bigint[])[1 + (g % 40)] * 10000000 + 2000000
                   + floor(random() * 8000000)::bigint
            FROM generate_series(0, $2 - 1) g""", npas, count)


async def _list(conn: asyncpg.Connection, name: str, kind: str, scope: str | None,
                select: str, *args: object) -> None:
    async with conn.transaction():
        await conn.execute("SET LOCAL dialer.bulk_load = 'on'")
        list_id = await conn.fetchval(
            "INSERT INTO dnc_lists (name, kind, scope) VALUES ($1, $2, $3) RETURNING id",
            name, kind, scope)
        vid = await conn.fetchval("INSERT INTO dnc_list_versions (list_id, version)"
                                  " VALUES ($1, 1) RETURNING id", list_id)
        await conn.execute(f"CREATE UNLOGGED TABLE dnc_numbers_bench_{vid}"
                           f" (version_id integer NOT NULL DEFAULT {vid}, phone bigint NOT NULL)")
        await conn.execute(f"INSERT INTO dnc_numbers_bench_{vid} (phone) {select}", *args)
        await conn.execute(f"ALTER TABLE dnc_numbers_bench_{vid} ADD CHECK (version_id = {vid})")
        await conn.execute(f"ALTER TABLE dnc_numbers ATTACH PARTITION dnc_numbers_bench_{vid}"
                           f" FOR VALUES IN ({vid})")
        await conn.execute("UPDATE dnc_lists SET current_version = $1, loaded_at = now()"
                           " WHERE id = $2", vid, list_id)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def sample_leads(flt: ComplianceFilter, count: int) -> list[NumberFacts]:
    """Half on the national list, half not; facts computed once, as lead import does."""
    assert flt.data is not None
    national = next(iter(flt.data.lists.get("national", "US")))
    listed = [national.numbers[i] for i in
              random.Random(1).sample(range(len(national.numbers)), count // 2)]
    others = [p + 1 for p in listed]
    return [number_facts(p, "US") for p in listed + others]


def time_checks(flt: ComplianceFilter, leads: list[NumberFacts], checks: int) -> list[int]:
    rules = parse_campaign_rules({"brand": "acme", "frequency_caps": [{"max": 3, "per": "24h"}],
                                  "abandon_cooldown": "72h"}, "campaigns.bench")
    now = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
    for f in leads[:5000]:
        flt.note_attempt(f.e164, now - timedelta(hours=2), False, campaign="bench")
    spent = []
    clock = time.perf_counter_ns
    for i in range(checks):
        lead = leads[i % len(leads)]
        start = clock()
        flt.check(lead, rules, now)
        spent.append(clock() - start)
    return spent


def batch_rate(bitmap: BitMap64, size: int = 1_000_000) -> tuple[float, float]:
    """Membership per second over a sorted batch, half of it listed: one `in` at a time,
    and the whole batch at once by intersection."""
    rng = random.Random(3)
    members = [bitmap[i] for i in rng.sample(range(len(bitmap)), size // 2)]
    batch = array("Q", sorted(members + [p + 1 for p in members]))
    start = time.perf_counter()
    hits = sum(1 for p in batch if p in bitmap)
    loop = size / (time.perf_counter() - start)
    start = time.perf_counter()
    both = bitmap & BitMap64(batch)
    bulk = size / (time.perf_counter() - start)
    assert len(both) <= hits
    return loop, bulk


async def run(numbers: int, checks: int, dsn: str | None) -> int:
    async with database(dsn) as url:
        conn = await asyncpg.connect(url)
        start = time.perf_counter()
        await build_lists(conn, numbers)
        print(f"built synthetic lists: {numbers:,} national numbers "
              f"in {time.perf_counter() - start:.1f} s")
        await conn.close()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            return await _measure(pool, numbers, checks)
        finally:
            await pool.close()


async def _measure(pool: asyncpg.Pool, numbers: int, checks: int) -> int:
    flt = ComplianceFilter(staleness=60)
    before = rss_bytes()
    start = time.perf_counter()
    await flt.start(pool)
    load_s = time.perf_counter() - start
    try:
        report(flt, numbers, load_s, rss_bytes() - before, checks)
    finally:
        await flt.stop()
    return 0


def report(flt: ComplianceFilter, numbers: int, load_s: float, rss: int, checks: int) -> None:
    assert flt.data is not None
    lists = flt.data.lists.lists.values()
    total = sum(len(d.numbers) for d in lists)
    stored = sum(len(d.numbers.serialize()) for d in lists)
    scale = TARGET / total
    print(f"lists: {total:,} numbers in {len(lists)} lists")
    print(f"memory: {stored / 2**20:.0f} MiB of bitmaps ({stored / total:.2f} B/number), "
          f"process RSS grew {rss / 2**20:.0f} MiB")
    print(f"load: {load_s:.1f} s ({total / load_s / 1e6:.1f} M numbers/s)")
    spent = sorted(time_checks(flt, sample_leads(flt, 20_000), checks))
    p99 = spent[int(len(spent) * 0.99)]
    print(f"full check of a lead: median {statistics.median(spent) / 1000:.1f} us, "
          f"p99 {p99 / 1000:.1f} us over {len(spent):,} checks")
    national = next(iter(flt.data.lists.get("national", "US")))
    loop, bulk = batch_rate(national.numbers)
    print(f"membership: {loop / 1e6:.1f} M/s one by one, {bulk / 1e6:.1f} M/s batched")
    print(f"extrapolated to {TARGET / 1e6:.0f}M numbers: {stored * scale / 2**30:.2f} GiB, "
          f"load {load_s * scale:.0f} s (targets: 0.5 GB, 60 s)")
