"""The report `dialer demo` ends with, read back from the database."""

from __future__ import annotations

from typing import Any, TextIO

import asyncpg

from dialer.store import reports


async def print_report(dsn: str, app: Any, out: TextIO, elapsed: float) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        r = await reports.run_report(conn)
    finally:
        await conn.close()
    print("\n=== demo report ===", file=out)
    print(f"ran {elapsed:.0f} s; {r.attempts} attempts recorded", file=out)
    print("calls by outcome: " + _pairs(r.outcomes), file=out)
    rate = r.abandoned / r.live if r.live else 0.0
    print(f"abandonment: {r.abandoned} of {r.live} live answers = {rate:.1%} "
          f"(target 3.0%)", file=out)
    if r.latency_ms:
        p50, p99 = r.latency_ms
        print(f"answer-to-bridge latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms", file=out)
    print(f"agent occupancy (talk time / logged-in time): {_occupancy(app):.0%}", file=out)
    print("compliance blocks by reason: " + (_pairs(r.blocks) or "none"), file=out)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _occupancy(app: Any) -> float:
    parts = app.parts
    return float(parts.occupancy.ratio()) if parts is not None else 0.0
