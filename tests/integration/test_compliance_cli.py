"""`dialer check`, `dialer optout` and `dialer attempts import` against a real Postgres."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from dialer.cli import main

DEFINITION = {"name": "sales", "brand": "acme", "frequency_caps": [{"max": 2, "per": "24h"}],
              "abandon_cooldown": "72h",
              "calling_hours": {"start": "09:00", "end": "20:00"}, "mode": "progressive"}
NOON_NY = "2026-03-04T12:00:00-05:00"


def sql(dsn: str, *statements: tuple[str, ...]) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            out: list[asyncpg.Record] = []
            for query, *args in statements:
                out = await conn.fetch(query, *args)
            return out
        finally:
            await conn.close()
    return asyncio.run(go())


@pytest.fixture
def dsn(db_dsn: str) -> str:
    sql(db_dsn, ("INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition)"
                 " VALUES ('sales', 'progressive', '100', 20, $1::jsonb)",
                 json.dumps(DEFINITION)))
    return db_dsn


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def test_check_prints_one_json_object_per_number_and_exits_0_when_blocked(
        dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    sql(dsn, ("INSERT INTO opt_outs (phone, channel) VALUES (12125550100, 'api')",))
    code, lines = run_json(capsys, "check", "+12125550100", "2125550101", "abc",
                           "--campaign", "sales", "--at", NOON_NY, "--json", "--dsn", dsn)
    assert code == 0
    assert [(x["number"], x["e164"], x["allowed"], x["reasons"]) for x in lines] == [
        ("+12125550100", 12125550100, False, ["dnc_internal"]),
        ("2125550101", 12125550101, True, []),
        ("abc", None, False, ["invalid_number"]),
    ]
    assert lines[0]["details"][0]["reason"] == "dnc_internal"


def test_check_uses_the_campaign_window_and_the_given_state(
        dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    early = "2026-03-04T08:30:00-05:00"
    code, lines = run_json(capsys, "check", "+12125550100", "--campaign", "sales",
                           "--at", early, "--json", "--dsn", dsn)
    assert lines[0]["reasons"] == ["outside_calling_hours"]
    code, lines = run_json(capsys, "check", "+12125550100", "--campaign", "sales", "--state",
                           "IL", "--at", "2026-03-04T20:30:00-05:00", "--json", "--dsn", dsn)
    assert (code, lines[0]["allowed"]) == (0, True)  # 19:30 in Chicago


@pytest.mark.parametrize(("argv", "words"), [
    (["--campaign", "nosuch"], "no campaign named 'nosuch'"),
    (["--campaign", "sales", "--at", "noon"], "--at: not an ISO-8601 time"),
    (["--campaign", "sales", "--at", "2026-03-04T12:00"], "--at: give a UTC offset"),
    (["--campaign", "sales", "--state", "QQ"], "unknown US state code"),
])
def test_check_usage_and_data_errors_exit_2(dsn: str, argv: list[str], words: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "+12125550100", *argv, "--dsn", dsn]) == 2
    assert words in capsys.readouterr().err


def test_check_without_a_database_exits_2(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DIALER_DATABASE_URL", raising=False)
    assert main(["check", "+12125550100", "--campaign", "sales"]) == 2
    assert "DIALER_DATABASE_URL" in capsys.readouterr().err


def test_optout_command_blocks_the_number(dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optout", "+1 212 555 0199", "--reason", "asked by letter", "--dsn", dsn]) == 0
    rows = sql(dsn, ("SELECT phone, channel, reason FROM opt_outs",))
    assert [tuple(r) for r in rows] == [(12125550199, "cli", "asked by letter")]
    capsys.readouterr()
    _, lines = run_json(capsys, "check", "+12125550199", "--campaign", "sales",
                        "--at", NOON_NY, "--json", "--dsn", dsn)
    assert lines[0]["reasons"] == ["dnc_internal"]


def test_imported_attempts_make_caps_and_cooldowns_hold(
        dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "history.csv"
    csv.write_text("phone,campaign,started_at,outcome\n"
                   "+12125550100,sales,2026-03-04T09:00:00-05:00,busy\n"
                   "2125550100,sales,2026-03-04T10:00:00-05:00,no_answer\n"
                   "+12125550101,sales,2026-03-04T10:00:00-05:00,abandoned\n")
    assert main(["attempts", "import", str(csv), "--dsn", dsn]) == 0
    assert "imported 3 attempts" in capsys.readouterr().out
    _, lines = run_json(capsys, "check", "+12125550100", "+12125550101", "--campaign", "sales",
                        "--at", NOON_NY, "--json", "--dsn", dsn)
    # one abandoned call of one live answer puts the whole campaign at its ceiling
    assert lines[0]["reasons"] == ["frequency_cap", "campaign_abandon_limit"]
    assert lines[1]["reasons"] == ["abandon_cooldown", "campaign_abandon_limit"]


@pytest.mark.parametrize(("body", "words"), [
    ("phone,campaign,started_at\n", "missing column(s) outcome"),
    ("phone,campaign,started_at,outcome\n+12125550100,sales,yesterday,busy\n",
     ":2: started_at: not an ISO-8601 time"),
    ("phone,campaign,started_at,outcome\n+12125550100,sales,2026-03-04T09:00Z,hung\n",
     ":2: outcome: 'hung' is not one of"),
    ("phone,campaign,started_at,outcome\n+12125550100,sales,2026-03-04T09:00Z,busy\n"
     "+12125550100,other,2026-03-04T09:00Z,busy\n", "unknown campaign(s): other"),
])
def test_bad_attempts_file_exits_2_and_writes_nothing(
        dsn: str, tmp_path: Path, body: str, words: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "history.csv"
    csv.write_text(body)
    assert main(["attempts", "import", str(csv), "--dsn", dsn]) == 2
    assert words in capsys.readouterr().err
    assert sql(dsn, ("SELECT count(*) FROM call_attempts",))[0][0] == 0


def test_check_reads_compliance_keys_nested_under_compliance(
        db_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    stored = {"name": "late", "mode": "progressive",
              "compliance": {"calling_hours": {"start": "13:00", "end": "20:00"}}}
    sql(db_dsn, ("INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, definition)"
                 " VALUES ('late', 'progressive', '100', 20, $1::jsonb)", json.dumps(stored)))
    _, lines = run_json(capsys, "check", "+12125550100", "--campaign", "late",
                        "--at", NOON_NY, "--json", "--dsn", db_dsn)
    assert lines[0]["reasons"] == ["outside_calling_hours"]
