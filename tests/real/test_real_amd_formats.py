"""AMD hears the same audio whether the engine originates over AMI or over ARI: both ask
for 8 kHz signed linear (`formats=slin` on ARI), so a machine gets the same verdict,
at the same moment. Without `formats`, ARI's Local channel runs at slin192."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.stack import CARRIER, Campaign, real_engine

pytestmark = pytest.mark.real_asterisk
AMI_NUMBERS = ["2125550114", "2125550125"]
ARI_NUMBERS = ["2125550134", "2125550145"]
BARE_NUMBER = "12125550154"


def amd_format(ast: RealAsterisk, number: str) -> str:
    """The format app_amd logged for the call to ``number`` (``AMD: <chan> ... (Fmt: X)``)."""
    lines = [ln for ln in ast.log_lines("(Fmt: ") if f"Local/{number}@" in ln]
    assert len(lines) == 1, lines
    m = re.search(r"\(Fmt: (\w+)\)", lines[0])
    assert m, lines[0]
    return m.group(1)


async def originate_without_formats(ast: RealAsterisk) -> None:
    """An ARI originate as the engine sent it before `formats=slin`."""
    params = {"endpoint": f"Local/{BARE_NUMBER}@{CARRIER}", "context": "dialer-amd",
              "extension": "amd-event", "priority": "1", "api_key": f"dialer:{ast.keys.ari}"}
    body = {"variables": {"DIALER_HOLD": "1"}}
    async with aiohttp.ClientSession() as http, http.post(
            f"{ast.ari_url}/ari/channels", params=params, json=body) as resp:
        assert resp.status == 200, await resp.text()


@pytest.mark.timeout(90)
async def test_a_machine_gets_the_same_amd_verdict_over_ami_and_over_ari(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path) -> None:
    await phones("agent1", "agent2")
    campaigns = [(Campaign(name="via-ami", via="ami", mode="power"), AMI_NUMBERS),
                 (Campaign(name="via-ari", via="ari", mode="power"), ARI_NUMBERS)]
    async with real_engine(asterisk, db_dsn, tmp_path, campaigns, ["agent1"]) as run:
        await run.login(["agent2"], campaign="via-ari")  # an agent serves one campaign
        await originate_without_formats(asterisk)
        await run.wait_leads_done(60)
        rows = {r["phone"]: r for r in await run.conn.fetch("SELECT * FROM call_attempts")}
        await run.until(lambda: bool(asterisk.log_lines(f"AMD result Local/{BARE_NUMBER}@")),
                        15, "the bare originate's AMD result")
    seen = {}
    for number in AMI_NUMBERS + ARI_NUMBERS:
        row = rows[int(f"1{number}")]
        took = (row["amd_at"] - row["answered_at"]).total_seconds()
        seen[number] = (row["originate_via"], amd_format(asterisk, f"1{number}"),
                        row["amd_cause"], round(took, 2))
        print(f"{number}: {seen[number]}")
    bare = re.search(r"AMD result \S+: (\w+ \S+ after \d+ ms)",
                     asterisk.log_lines(f"AMD result Local/{BARE_NUMBER}@")[0])
    print(f"ARI without formats: Fmt {amd_format(asterisk, BARE_NUMBER)}, "
          f"{bare.group(1) if bare else '?'}")
    for ami, ari in zip(AMI_NUMBERS, ARI_NUMBERS, strict=True):
        assert seen[ami][1] == seen[ari][1] == "slin"
        assert seen[ami][2] == seen[ari][2] and seen[ami][2].startswith("LONGGREETING")
        assert abs(seen[ami][3] - seen[ari][3]) < 0.3
    assert amd_format(asterisk, BARE_NUMBER) == "slin192"
