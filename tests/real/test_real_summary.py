"""A small campaign through the real engine and a real Asterisk, over AMI and over ARI:
every last digit of the test carrier once, plus numbers on the internal do-not-call list.
Judged by Asterisk's own events (an AMI witness), not by the engine's rows:

    real asterisk (ami): N calls, outcomes right R/N, duplicates 0, DNC dialed 0, leaks 0

R counts the attempts whose outcome is the carrier's digit mapping; duplicates are
numbers Asterisk saw dialled more than once; DNC dialed the listed numbers that reached
Asterisk; leaks the channels and bridges left once the engine stopped the SIGTERM way."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory, SummaryLines
from tests.real.observer import AmiWitness
from tests.real.stack import CARRIER, Campaign, leftovers, real_engine

pytestmark = pytest.mark.real_asterisk

AGENTS = ("agent1", "agent2", "agent3", "agent4")
NUMBERS = [f"212555010{d}" for d in range(10)]
DNC = ["2125550110", "2125550123", "2125550136"]  # one of each kind the mapping would dial
DIGITS = {0: "human", 1: "human", 2: "human", 3: "human", 4: "machine", 5: "machine",
          6: "busy", 7: "no_answer", 8: "congestion", 9: "answer_hangup"}
AMD = {0: "HUMAN", 1: "HUMAN", 2: "HUMAN", 3: "HUMAN", 4: "MACHINE", 5: "MACHINE",
       6: None, 7: None, 8: None, 9: None}  # hung up during AMD: no verdict reaches the engine
DIALLED = re.compile(rf"^Local/(\d+)@{CARRIER}-[0-9a-f]+;1$")


def dialled(witness: AmiWitness) -> Counter[str]:
    """How often Asterisk created a carrier call to each number (its Newchannel events)."""
    found = (DIALLED.match(h.get("Channel", "")) for _, h in witness.find("Newchannel"))
    return Counter(m.group(1) for m in found if m)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_a_small_campaign_gets_every_outcome_right_and_leaves_nothing_behind(
        asterisk: RealAsterisk, phones: PhoneFactory, ami_witness: AmiWitness, db_dsn: str,
        tmp_path: Path, via: str, summary_lines: SummaryLines) -> None:
    asterisk.set_global("SIM_TALK", "4")  # a person stays 4 s, then hangs up
    await phones(*AGENTS)
    campaign = Campaign(via=via, mode="power", power_ratio=2.5)
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, NUMBERS + DNC)], AGENTS,
                           dnc=DNC) as run:
        await run.wait_leads_done(100)
        rows = {r["phone"]: r for r in await run.conn.fetch("SELECT * FROM call_attempts")}
    channels, bridges = await leftovers(asterisk)
    seen = dialled(ami_witness)
    right = [p for p, r in rows.items() if r["outcome"] == DIGITS[p % 10]]
    twice = sorted(n for n, times in seen.items() if times > 1)
    dnc_dialled = sorted(n for n in seen if n[1:] in DNC)
    line = (f"real asterisk ({via}): {len(rows)} calls, outcomes right {len(right)}/"
            f"{len(rows)}, duplicates {len(twice)}, DNC dialed {len(dnc_dialled)}, "
            f"leaks {channels + bridges}")
    print(line)
    summary_lines.append(line)
    for phone, row in sorted(rows.items()):
        print(f"  {phone}: {row['outcome']} amd={row['amd_status']} {row['amd_cause']} "
              f"cause={row['hangup_cause']} agent={row['agent_id']}")
    assert len(right) == len(rows) == len(NUMBERS), line
    assert (twice, dnc_dialled, channels, bridges) == ([], [], 0, 0), line
    assert sorted(seen) == sorted(f"1{n}" for n in NUMBERS)
    assert {p % 10: r["amd_status"] for p, r in rows.items()} == AMD
    humans = [r for p, r in rows.items() if DIGITS[p % 10] == "human"]
    assert all(r["bridged_at"] and r["agent_id"] and r["live_answer"] for r in humans)
    assert all(r["originate_via"] == via and r["ended_at"] for r in rows.values())
