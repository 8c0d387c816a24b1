"""List imports against a real PostgreSQL: good and bad rows, encodings, empty files,
atomic DNC versions, consents, and the all-or-nothing rule."""

from __future__ import annotations

import csv
from pathlib import Path

import asyncpg
import pytest

from dialer.campaigns import parse_campaign
from dialer.imports.consents import import_consents
from dialer.imports.dnc import import_dnc
from dialer.imports.leads import import_leads
from dialer.imports.source import ImportFileError
from dialer.store import campaigns as campaign_store
from dialer.store.lists import ListError

CAMPAIGN = 'name: {name}\nmode: progressive\ncaller_id: "+12125550100"\n'


async def make_campaign(conn: asyncpg.Connection, name: str = "sales") -> None:
    await campaign_store.create(conn, parse_campaign(CAMPAIGN.format(name=name)))


@pytest.fixture
async def conn(db_dsn: str):
    c = await asyncpg.connect(db_dsn)
    await make_campaign(c)
    yield c
    await c.close()


def rejects_of(path: Path) -> list[tuple[int, str]]:
    with open(path, newline="") as fh:
        return [(int(r["line"]), r["reason"]) for r in csv.DictReader(fh)]


async def test_good_rows_import_and_bad_rows_are_rejected_with_line_and_reason(conn, tmp_path):
    f = tmp_path / "leads.csv"
    f.write_text(
        "phone,state,zip,first_name\n"
        "(212) 555-0101,NY,10001,Ann\n"          # 2 good
        "not a number,NY,,Bob\n"                 # 3 unparseable
        "+1 212 555 0101,NY,,Ann again\n"        # 4 duplicate of line 2
        "(212) 123-4567,NY,,Cy\n"                # 5 invalid (exchange starts with 1)
        "(415) 555-0199,ZZ,,Di\n"                # 6 unknown state
        "(415) 555-0198,CA,94110-1234,Ed\n"      # 7 good
        ",CA,,Flo\n"                             # 8 missing phone
        "(415) 555-0197,CA\n"                    # 9 wrong field count
    )
    res = await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    assert (res.imported, res.rejected) == (2, 6)
    reasons = dict(rejects_of(res.rejects_file))
    assert sorted(reasons) == [3, 4, 5, 6, 8, 9]
    assert "cannot parse phone" in reasons[3]
    assert "duplicate of line 2" in reasons[4]
    assert "not a valid number" in reasons[5]
    assert "unknown state" in reasons[6]
    assert "phone is empty" in reasons[8]
    assert "fields" in reasons[9]
    rows = await conn.fetch(
        "SELECT phone, state, zip, custom, time_zones FROM leads ORDER BY phone")
    assert [(r["phone"], r["state"], r["zip"]) for r in rows] == [
        (12125550101, "NY", "10001"), (14155550198, "CA", "94110")]
    assert rows[0]["custom"] == '{"first_name": "Ann"}'
    assert rows[1]["time_zones"] == ["America/Los_Angeles"]


async def test_number_already_in_campaign_is_rejected_on_a_second_import(conn, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("phone\n2125550101\n")
    await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    res = await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    assert (res.imported, res.rejected) == (0, 1)
    assert "already in the campaign" in rejects_of(res.rejects_file)[0][1]


async def test_non_utf8_line_is_rejected_and_the_rest_imports(conn, tmp_path):
    f = tmp_path / "latin1.csv"
    f.write_bytes(b"phone,name\n2125550101,Jos\xe9\n2125550102,Ana\n")
    res = await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    assert (res.imported, res.rejected) == (1, 1)
    assert rejects_of(res.rejects_file) == [(2, "not UTF-8 (byte 0xe9 at column 15)")]


async def test_empty_file_is_refused_with_a_clear_message(conn, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    with pytest.raises(ImportFileError, match="the file is empty"):
        await import_leads(conn, f, campaign="sales", region="US", show_progress=False)


async def test_missing_phone_column_is_refused_before_anything_is_written(conn, tmp_path):
    f = tmp_path / "nophone.csv"
    f.write_text("name,state\nAnn,NY\n")
    with pytest.raises(ImportFileError, match=r"missing required column\(s\) phone"):
        await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    assert await conn.fetchval("SELECT count(*) FROM leads") == 0


async def test_unknown_campaign_is_named(conn, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("phone\n2125550101\n")
    with pytest.raises(LookupError, match="unknown campaign 'nope'"):
        await import_leads(conn, f, campaign="nope", region="US", show_progress=False)


async def test_failure_during_import_leaves_nothing_behind(conn, tmp_path, monkeypatch):
    f = tmp_path / "leads.csv"
    f.write_text("phone\n" + "".join(f"212555{i:04d}\n" for i in range(100, 5100)))
    from dialer.store import leads as lead_store

    async def broken_insert(*_args: object) -> int:
        raise asyncpg.PostgresError("connection lost mid-import")

    monkeypatch.setattr(lead_store, "insert_staged", broken_insert)
    with pytest.raises(asyncpg.PostgresError):
        await import_leads(conn, f, campaign="sales", region="US", show_progress=False)
    assert await conn.fetchval("SELECT count(*) FROM leads") == 0
    assert list(tmp_path.glob("*rejects*")) == []


async def test_dnc_reimport_replaces_the_list_as_a_new_version(conn, tmp_path):
    first, second = tmp_path / "v1.txt", tmp_path / "v2.txt"
    first.write_text("2125550101\n2125550102\n")
    second.write_text("phone\n+14155550199\n2125550102\nbogus\n")
    one = await import_dnc(conn, first, name="national", kind="national", scope="US",
                           region="US", show_progress=False)
    two = await import_dnc(conn, second, name="national", kind="national", scope="US",
                           region="US", show_progress=False)
    assert (one.loaded.version, two.loaded.version) == (1, 2)
    assert two.loaded.replaced == one.loaded.version_id
    assert two.rejected == 1
    phones = await conn.fetch("SELECT phone FROM dnc_numbers ORDER BY phone")
    assert [r["phone"] for r in phones] == [12125550102, 14155550199]
    assert await conn.fetchval(
        "SELECT to_regclass($1)", f"dnc_numbers_v{one.loaded.version_id}") is None


async def test_dnc_list_kind_clash_and_empty_list_are_refused(conn, tmp_path):
    f = tmp_path / "l.txt"
    f.write_text("2125550101\n")
    await import_dnc(conn, f, name="lit", kind="litigator", scope=None, region="US",
                     show_progress=False)
    with pytest.raises(ListError, match="exists with kind litigator"):
        await import_dnc(conn, f, name="lit", kind="internal", scope=None, region="US",
                         show_progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_text("phone\nnonsense\n")
    with pytest.raises(ListError, match="left unchanged"):
        await import_dnc(conn, bad, name="lit", kind="litigator", scope=None, region="US",
                         show_progress=False)
    assert await conn.fetchval("SELECT count(*) FROM dnc_numbers") == 1


async def test_consents_import_with_validation(conn, tmp_path):
    f = tmp_path / "consent.csv"
    f.write_text(
        "phone,scope,type,obtained_at,source,evidence,expires_at,revoked_at\n"
        "2125550101,brand:Acme,express_written,2026-01-02T10:00:00-05:00,web,form-1,,\n"
        "2125550102,acme,express,2026-01-02,web,,,\n"
        "2125550103,campaign:sales,verbal,2026-01-02,web,,,\n"
        "2125550104,campaign:sales,express,yesterday,web,,,\n"
        "2125550105,campaign:sales,ebr_purchase,2026-01-02,crm,,2025-01-01,\n"
    )
    res = await import_consents(conn, f, region="US", show_progress=False)
    assert (res.imported, res.rejected) == (1, 4)
    reasons = dict(rejects_of(res.rejects_file))
    assert "must be campaign:NAME or brand:NAME" in reasons[3]
    assert "type 'verbal'" in reasons[4]
    assert "not an ISO 8601" in reasons[5]
    assert "expires_at is not after obtained_at" in reasons[6]
