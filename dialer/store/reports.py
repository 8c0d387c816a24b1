"""Read-only summaries of what happened, for reports and the status API."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg


@dataclass
class RunReport:
    attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    live: int = 0
    abandoned: int = 0
    latency_ms: tuple[float, float] | None = None
    blocks: dict[str, int] = field(default_factory=dict)


async def run_report(conn: asyncpg.Connection, campaign_id: int | None = None) -> RunReport:
    where = "source = 'engine'"
    if campaign_id is not None:
        where += f" AND campaign_id = {int(campaign_id)}"
    r = RunReport()
    rows = await conn.fetch(f"SELECT coalesce(outcome, 'in progress') AS outcome, count(*) AS n "
                            f"FROM call_attempts WHERE {where} GROUP BY 1")
    r.outcomes = {row["outcome"]: row["n"] for row in rows}
    r.attempts = sum(r.outcomes.values())
    row = await conn.fetchrow(
        f"SELECT count(*) FILTER (WHERE live_answer) AS live, "
        f"count(*) FILTER (WHERE abandoned) AS abandoned, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM bridged_at - amd_at)) "
        f"  FILTER (WHERE bridged_at IS NOT NULL) AS p50, "
        f"percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM bridged_at - amd_at)) "
        f"  FILTER (WHERE bridged_at IS NOT NULL) AS p99 FROM call_attempts WHERE {where}")
    r.live, r.abandoned = row["live"], row["abandoned"]
    if row["p50"] is not None:
        r.latency_ms = (float(row["p50"]) * 1000, float(row["p99"]) * 1000)
    blocks = await conn.fetch("SELECT reason, count(*) AS n FROM compliance_audit, "
                              "unnest(reasons) AS reason WHERE NOT allowed GROUP BY 1")
    r.blocks = {b["reason"]: b["n"] for b in blocks}
    return r
