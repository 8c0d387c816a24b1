"""Every outcome of the test carrier, dialed by the real engine through a real Asterisk,
over AMI and over ARI: the recorded outcome, AMD's verdict, and who took the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.observer import AmiWitness
from tests.real.stack import Campaign, real_engine

pytestmark = pytest.mark.real_asterisk

AGENTS = ("agent1", "agent2", "agent3", "agent4")
DIGITS = {0: "human", 1: "human", 2: "human", 3: "human", 4: "machine", 5: "machine",
          6: "busy", 7: "no_answer", 8: "congestion", 9: "answer_hangup"}
AMD = {0: "HUMAN", 1: "HUMAN", 2: "HUMAN", 3: "HUMAN", 4: "MACHINE", 5: "MACHINE",
       6: None, 7: None, 8: None, 9: None}  # hung up during AMD: no verdict reaches the engine


@pytest.mark.timeout(150)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_every_carrier_digit_is_recorded_with_its_outcome(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path,
        via: str) -> None:
    asterisk.set_global("SIM_TALK", "4")  # a person stays 4 s, then hangs up
    await phones(*AGENTS)
    numbers = [f"212555010{d}" for d in range(10)]
    campaign = Campaign(via=via, mode="power", power_ratio=2.5)
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, numbers)], AGENTS) as run:
        await run.wait_leads_done(100)
        rows = await run.attempts()
    for d, row in sorted(rows.items()):
        print(f"{via} digit {d}: {row['outcome']} amd={row['amd_status']} {row['amd_cause']} "
              f"cause={row['hangup_cause']} agent={row['agent_id']}")
    assert {d: r["outcome"] for d, r in rows.items()} == DIGITS
    assert {d: r["amd_status"] for d, r in rows.items()} == AMD
    humans = [r for d, r in rows.items() if DIGITS[d] == "human"]
    assert all(r["bridged_at"] and r["agent_id"] and r["live_answer"] for r in humans)
    assert all(r["originate_via"] == via and r["ended_at"] for r in rows.values())


@pytest.mark.timeout(60)
async def test_hangup_causes_from_asterisk_are_recorded(
        asterisk: RealAsterisk, phones: PhoneFactory, ami_witness: AmiWitness, db_dsn: str,
        tmp_path: Path) -> None:
    asterisk.set_global("SIM_TALK", "3")
    await phones("agent1")
    campaign = Campaign(mode="power")
    async with real_engine(asterisk, db_dsn, tmp_path,
                           [(campaign, ["2125550100", "2125550108"])], ["agent1"]) as run:
        await run.wait_leads_done(60)
        rows = await run.attempts()
    human = str(rows[0]["id"])
    [(_, hangup)] = ami_witness.find("Hangup", Uniqueid=human)
    congested = [h for _, h in ami_witness.find("Hangup")
                 if h.get("Channel", "").startswith("Local/12125550108@") and h["Cause"] != "0"]
    print(f"Asterisk: human {hangup['Cause']} {hangup['Cause-txt']}; congestion "
          f"{[(h['Cause'], h['Cause-txt']) for h in congested]}; recorded "
          f"{[(r['hangup_cause'], r['hangup_cause_txt']) for r in rows.values()]}")
    assert (rows[0]["hangup_cause"], rows[0]["hangup_cause_txt"]) == (
        int(hangup["Cause"]), hangup["Cause-txt"])
    assert rows[8]["hangup_cause"] == 34
