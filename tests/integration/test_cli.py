"""The `dialer` command as an operator runs it: real processes, a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from dialer.imports.bench import write_lead_file

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = 'name: sales\nmode: progressive\ncaller_id: "+12125550100"\n'


def dialer(*args: str, dsn: str | None = None, timeout: float = 120
           ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"DIALER_DATABASE_URL": dsn} if dsn else {})}
    return subprocess.run([sys.executable, "-m", "dialer", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def test_config_check_reports_the_mistake_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("ami:\n  port: 5038\n  secrt: x\n")
    out = dialer("config", "check", str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith(f"dialer: error: {bad}:3: ")
    assert f"{bad}:3: ami.secrt: unknown key" in out.stderr
    assert "Traceback" not in out.stderr


def test_campaign_check_refuses_a_short_ring_for_us(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(CAMPAIGN + "ring_timeout: 10\n")
    out = dialer("config", "check", "--campaign", str(f))
    assert out.returncode == 2
    assert "c.yaml:4: ring_timeout: must be at least 15 s" in out.stderr


async def test_migrate_campaign_and_lead_commands_work_end_to_end(pg_server, tmp_path):
    admin = await asyncpg.connect(pg_server.dsn())
    await admin.execute("CREATE DATABASE cli_e2e")
    dsn = pg_server.dsn("cli_e2e")
    try:
        assert "applied 001_init.sql" in dialer("db", "migrate", dsn=dsn).stdout
        assert "schema is up to date" in dialer("db", "migrate", dsn=dsn).stdout
        (tmp_path / "c.yaml").write_text(CAMPAIGN)
        assert dialer("campaign", "create", str(tmp_path / "c.yaml"), dsn=dsn).returncode == 0
        again = dialer("campaign", "create", str(tmp_path / "c.yaml"), dsn=dsn)
        assert again.returncode == 2 and "already exists" in again.stderr
        (tmp_path / "l.csv").write_text("phone\n2125550101\nbad\n")
        out = dialer("leads", "import", str(tmp_path / "l.csv"), "--campaign", "sales", dsn=dsn)
        assert "1 imported, 1 rejected" in out.stdout
        listing = dialer("campaign", "list", dsn=dsn).stdout
        assert "sales" in listing and listing.strip().endswith("1")
        assert '"caller_id": "+12125550100"' in dialer("campaign", "show", "sales", dsn=dsn).stdout
    finally:
        await admin.execute("DROP DATABASE cli_e2e WITH (FORCE)")
        await admin.close()


def test_unreachable_database_is_one_clear_line_without_the_password() -> None:
    out = dialer("db", "migrate", "--dsn", "postgresql://u:hunter2@127.0.0.1:1/x")
    assert out.returncode == 2
    assert "cannot connect to the database postgresql://u:***@127.0.0.1:1/x" in out.stderr
    assert "hunter2" not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def _peak_rss_of_import(dsn: str, path: Path) -> tuple[int, str]:
    code = ("import resource, sys; from dialer.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, "leads", "import", str(path),
                          "--campaign", "sales", "--dsn", dsn, "--no-progress"],
                         capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    peak = next(int(line.split()[1]) for line in out.stdout.splitlines()
                if line.startswith("PEAK"))
    return peak, out.stdout


@pytest.mark.timeout(600)
async def test_a_million_row_import_keeps_memory_flat(db_dsn, tmp_path):
    conn = await asyncpg.connect(db_dsn)
    await conn.execute("INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, "
                       "definition) VALUES ('sales', 'progressive', '+12125550100', 20, '{}')")
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_lead_file(small, 20_000, seed=1)
    write_lead_file(big, 1_000_000, seed=2)
    small_peak, _ = _peak_rss_of_import(db_dsn, small)
    await conn.execute("DELETE FROM leads")
    big_peak, stdout = _peak_rss_of_import(db_dsn, big)
    imported = await conn.fetchval("SELECT count(*) FROM leads")
    await conn.close()
    assert imported > 900_000, stdout
    # ru_maxrss is in KiB: fifty times the rows may cost at most 40 MiB more.
    assert big_peak - small_peak < 40 * 1024, (small_peak, big_peak)


@pytest.mark.timeout(120)
async def test_interrupted_import_leaves_nothing_behind(db_dsn, tmp_path):
    conn = await asyncpg.connect(db_dsn)
    await conn.execute("INSERT INTO campaigns (name, mode, caller_id, ring_timeout_s, "
                       "definition) VALUES ('sales', 'progressive', '+12125550100', 20, '{}')")
    f = tmp_path / "big.csv"
    write_lead_file(f, 400_000, seed=3)
    proc = subprocess.Popen([sys.executable, "-m", "dialer", "leads", "import", str(f),
                             "--campaign", "sales", "--dsn", db_dsn, "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(tmp_path.glob("*.partial")):
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert await conn.fetchval("SELECT count(*) FROM leads") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]
    await conn.close()
