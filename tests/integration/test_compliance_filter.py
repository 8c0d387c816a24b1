"""The in-memory filter against a real Postgres: loading, the live feed, failing closed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialer.core.compliance import NumberFacts, parse_campaign_rules
from dialer.store.compliance import ComplianceFilter
from dialer.store.embedded import EmbeddedPostgres

NOW = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 12:00 in New York, a Wednesday
SALES = parse_campaign_rules({"brand": "acme"}, "campaigns.sales")
NY = NumberFacts(12125550100, True, "US", ("America/New_York",), "NY")


async def add_list(db: asyncpg.Pool, name: str, kind: str, scope: str | None,
                   phones: list[int], version: int = 1) -> int:
    """A list with one version, loaded the way the importer does (its own partition)."""
    async with db.acquire() as conn, conn.transaction():
        list_id = await conn.fetchval(
            "INSERT INTO dnc_lists (name, kind, scope) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
            name, kind, scope)
        vid = await conn.fetchval(
            "INSERT INTO dnc_list_versions (list_id, version, row_count) VALUES ($1, $2, $3)"
            " RETURNING id", list_id, version, len(phones))
        await conn.execute(f"CREATE TABLE dnc_numbers_v{vid} PARTITION OF dnc_numbers"
                           f" FOR VALUES IN ({vid})")
        await conn.execute("SET LOCAL dialer.bulk_load = 'on'")
        await conn.copy_records_to_table("dnc_numbers", records=[(vid, p) for p in phones])
        await conn.execute("UPDATE dnc_lists SET current_version = $1, loaded_at = now(),"
                           " row_count = $2 WHERE id = $3", vid, len(phones), list_id)
    return list_id


@pytest.fixture
async def flt(db: asyncpg.Pool) -> AsyncIterator[ComplianceFilter]:
    f = ComplianceFilter(staleness=1.0, ping_interval=0.1)
    await f.start(db)
    yield f
    await f.stop()


async def wait_for(predicate, timeout: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not true within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_filter_blocks_numbers_of_lists_loaded_at_start(db: asyncpg.Pool) -> None:
    await add_list(db, "company", "internal", None, [12125550100, 13055550100])
    f = ComplianceFilter()
    await f.start(db)
    try:
        assert f.check(NY, SALES, NOW).reasons == ("dnc_internal",)
        other = NumberFacts(12125550101, True, "US", ("America/New_York",), "NY")
        assert f.check(other, SALES, NOW).allowed
        assert [(h.name, h.entries) for h in f.health(NOW).lists] == [("company", 2)]
    finally:
        await f.stop()


async def test_check_before_start_is_filter_unavailable() -> None:
    f = ComplianceFilter()
    assert f.check(NY, SALES, NOW).reasons == ("filter_unavailable",)


async def test_opt_out_through_one_filter_blocks_on_the_other_within_a_second(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    other = ComplianceFilter(staleness=1.0, ping_interval=0.1)
    await other.start(db)
    try:
        assert other.check(NY, SALES, NOW).allowed
        await flt.add_opt_out(NY.e164, "keypress", reason="pressed 9")
        assert flt.check(NY, SALES, NOW).reasons == ("dnc_internal",)
        await wait_for(lambda: not other.check(NY, SALES, NOW).allowed, timeout=1.0)
        assert other.check(NY, SALES, NOW).reasons == ("dnc_internal",)
    finally:
        await other.stop()


async def test_single_addition_to_a_current_list_blocks_at_once(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    list_id = await add_list(db, "sales-own", "campaign", "sales", [19995550000])
    await wait_for(lambda: any(h.name == "sales-own" for h in flt.health(NOW).lists))
    vid = await db.fetchval("SELECT current_version FROM dnc_lists WHERE id = $1", list_id)
    await db.execute("INSERT INTO dnc_numbers (version_id, phone) VALUES ($1, $2)", vid, NY.e164)
    await wait_for(lambda: flt.check(NY, SALES, NOW).reasons == ("dnc_campaign",))


async def test_new_list_version_is_swapped_in_whole(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    await add_list(db, "litig", "litigator", None, [NY.e164])
    await wait_for(lambda: flt.check(NY, SALES, NOW).reasons == ("litigator",))
    await add_list(db, "litig", "litigator", None, [19995550000], version=2)
    await wait_for(lambda: flt.check(NY, SALES, NOW).allowed)
    assert [h.version for h in flt.health(NOW).lists if h.name == "litig"] != [None]


async def test_attempt_by_another_engine_counts_toward_the_cap(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    capped = parse_campaign_rules({"frequency_caps": [{"max": 1, "per": "24h"}]},
                                  "campaigns.sales")
    cid = await db.fetchval(
        "INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition)"
        " VALUES ('sales', 'progressive', '100', 20, '{}') RETURNING id")
    await db.execute(
        "INSERT INTO call_attempts (id, campaign_id, phone, originated_at)"
        " VALUES (gen_random_uuid(), $1, $2, $3)", cid, NY.e164, NOW - timedelta(hours=1))
    await wait_for(lambda: flt.check(NY, capped, NOW).reasons == ("frequency_cap",))


async def test_consent_given_elsewhere_lifts_the_consent_block(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    needs = parse_campaign_rules({"brand": "acme", "require_consent": True}, "campaigns.sales")
    assert flt.check(NY, needs, NOW).reasons == ("no_consent",)
    await db.execute(
        "INSERT INTO consents (phone, scope, type, obtained_at) VALUES ($1, 'brand:acme',"
        " 'express_written', $2)", NY.e164, NOW - timedelta(days=1))
    await wait_for(lambda: flt.check(NY, needs, NOW).allowed)


async def test_lost_feed_fails_closed_then_recovers(
        db: asyncpg.Pool, pg_server: EmbeddedPostgres, flt: ComplianceFilter) -> None:
    name = await db.fetchval("SELECT current_database()")
    admin = await asyncpg.connect(pg_server.dsn())
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        await wait_for(lambda: not flt.ready(), timeout=3.0)
        assert flt.check(NY, SALES, NOW).reasons == ("filter_unavailable",)
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await wait_for(lambda: flt.ready(), timeout=5.0)
        assert flt.check(NY, SALES, NOW).allowed
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()


async def test_record_block_writes_reasons_and_list_versions(
        db: asyncpg.Pool, flt: ComplianceFilter) -> None:
    await add_list(db, "company", "internal", None, [NY.e164])
    await wait_for(lambda: not flt.check(NY, SALES, NOW).allowed)
    verdict = flt.check(NY, SALES, NOW)
    await flt.record_block(verdict, NY.e164, campaign_id=None)
    row = await db.fetchrow("SELECT allowed, reasons, list_versions FROM compliance_audit")
    assert row["allowed"] is False and row["reasons"] == ["dnc_internal"]
    assert '"company"' in row["list_versions"]
    assert flt.blocks["dnc_internal"] == 1


async def test_periodic_reload_picks_up_rows_written_without_a_notification(
        db: asyncpg.Pool) -> None:
    list_id = await add_list(db, "company", "internal", None, [19995550000])
    f = ComplianceFilter(reload_interval=0.2)
    await f.start(db)
    try:
        vid = await db.fetchval("SELECT current_version FROM dnc_lists WHERE id = $1", list_id)
        async with db.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL dialer.bulk_load = 'on'")
            await conn.execute("INSERT INTO dnc_numbers VALUES ($1, $2)", vid, NY.e164)
        await wait_for(lambda: not f.check(NY, SALES, NOW).allowed, timeout=2.0)
        assert f.reloads >= 1
    finally:
        await f.stop()
