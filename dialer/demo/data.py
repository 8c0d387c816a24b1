"""The demo's data: a campaign whose leads cover every outcome digit, numbers on
do-not-call lists, and numbers whose local time is outside calling hours."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from dialer.campaigns import parse_campaign
from dialer.imports.dnc import import_dnc
from dialer.imports.leads import import_leads
from dialer.store import campaigns as campaign_store

# (area code, state): New York, Chicago, Denver, Los Angeles, Anchorage, Honolulu, Miami.
# The demo's compliance clock reads 20:30 in New York: Florida (08:00-20:00) is closed.
AREAS = (("212", "NY"), ("312", "IL"), ("303", "CO"), ("213", "CA"), ("907", "AK"),
         ("808", "HI"), ("305", "FL"))

DEMO_CAMPAIGN = """\
name: demo
mode: predictive
caller_id: "+12125550100"
dial_template: "Local/{number}@dialer-test-carrier"
originate_via: ami
ring_timeout: 20
connect_deadline: 2
brand: Demo Co
call_type: telemarketing
amd:
  machine_action: message
recordings:
  safe_harbor: dialer/safe-harbor
  machine_message: dialer/machine-message
retry:
  max_attempts: 2
"""


def lead_rows(count: int) -> list[str]:
    """CSV lines: numbers 555-01xx/02xx so the last digit picks the outcome."""
    rows = []
    for i in range(count):
        area, state = AREAS[i % len(AREAS)]
        rows.append(f"({area}) 555-{100 + i // len(AREAS) * 10 + i % 10:04d},{state},lead{i}")
    return rows


def write_files(folder: Path, leads: int) -> tuple[Path, Path, Path]:
    rows = lead_rows(leads)
    lead_file = folder / "demo-leads.csv"
    lead_file.write_text("phone,state,first_name\n" + "\n".join(rows) + "\n")
    phones = [r.split(",")[0] for r in rows]
    national = folder / "demo-national-dnc.txt"
    national.write_text("".join(_digits(p) + "\n" for p in phones[3::17]))
    internal = folder / "demo-internal-dnc.txt"
    internal.write_text("".join(_digits(p) + "\n" for p in phones[5::29]))
    return lead_file, national, internal


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


async def load_demo(conn: asyncpg.Connection, folder: Path, leads: int = 300) -> None:
    """Create the demo campaign (active), its leads and two DNC lists."""
    camp = parse_campaign(DEMO_CAMPAIGN, "demo campaign")
    await campaign_store.create(conn, camp, update=True)
    await campaign_store.set_status(conn, camp.name, "active")
    lead_file, national, internal = write_files(folder, leads)
    await import_leads(conn, lead_file, campaign=camp.name, region="US", show_progress=False)
    await import_dnc(conn, national, name="demo-national", kind="national", scope="US",
                     region="US", show_progress=False)
    await import_dnc(conn, internal, name="demo-internal", kind="internal", scope=None,
                     region="US", show_progress=False)
