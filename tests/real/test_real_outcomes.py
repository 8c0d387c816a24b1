"""Hangup causes of the test carrier's calls, as Asterisk reports them, on the attempts.
(Every digit's outcome over AMI and ARI: test_real_summary.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.observer import AmiWitness
from tests.real.stack import Campaign, real_engine

pytestmark = pytest.mark.real_asterisk


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
