"""The invariants, judged from the simulators' own records and from Postgres; never from
what an engine says about itself (except the ledgers, which are compared with a recount).

1. No number is originated twice (the campaign allows one attempt per lead).
2. No attempt is left open, no lead is left leased, and every call placed has its row.
3. Every live answer is bridged within the connect deadline, or is counted abandoned
   and, when an engine was there to play it, hears the safe-harbor message.
4. Nothing is left in Asterisk once the engines have stopped, and no holding bridge ever
   held more than an agent's phone and one customer.
6. The abandonment ledgers (status API and metrics) equal a recount of the rows.
(5, agents coming back, is checked as the faults happen: :mod:`dialer.chaos.faults`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from dialer.sim.record_reader import (
    CallTimeline,
    Record,
    call_timelines,
    originates_per_number,
    overfull_bridges,
)

CONNECT_DEADLINE = 2.0
TOLERANCE = 0.5          # seconds between the sim's clock and the engine's reaction
SAFE_HARBOR = "safe-harbor"
MESSAGE_CHANCE = 3.0     # seconds an engine served a waiting call: it must play the message
UNHEARD = 0.05           # an AMD verdict this close before Asterisk died was never sent


@dataclass(frozen=True)
class Row:
    abandoned: bool
    live: bool
    outcome: str | None


def duplicates(records: Iterable[Record]) -> list[str]:
    counts: dict[str, int] = {}
    for record in records:
        for number, n in originates_per_number(record).items():
            counts[number] = counts.get(number, 0) + n
    return [f"inv1: number {number} was originated {n} times" for number, n in
            sorted(counts.items()) if n > 1]


async def rows(conn: asyncpg.Connection) -> dict[str, Row]:
    found = await conn.fetch("SELECT id::text, abandoned, live_answer, outcome "
                             "FROM call_attempts")
    return {r["id"]: Row(r["abandoned"], r["live_answer"], r["outcome"]) for r in found}


async def open_records(conn: asyncpg.Connection) -> list[str]:
    out = [f"inv2: attempt {r['id']} (to {r['phone']}) is still open"
           for r in await conn.fetch("SELECT id::text, phone FROM call_attempts "
                                     "WHERE ended_at IS NULL ORDER BY created_at")]
    out += [f"inv2: lead {r['id']} is still {r['status']} by {r['lease_owner']}"
            for r in await conn.fetch("SELECT id, status, lease_owner FROM leads "
                                      "WHERE status IN ('leased', 'dialing') ORDER BY id")]
    return out


def unrecorded(timelines: list[CallTimeline], by_id: dict[str, Row]) -> list[str]:
    return [f"inv2: call {t.id} to {t.number} was placed with no attempt row"
            for t in timelines if t.id not in by_id]


def lost_with_asterisk(t: CallTimeline) -> bool:
    """AMD's verdict was still on its way when the Asterisk restart or crash took the call:
    no engine could have heard of the answer (not judged; counted apart)."""
    return t.amd is not None and t.lost is not None and t.lost - t.amd.t < UNHEARD


def live_answers(timelines: list[CallTimeline], by_id: dict[str, Row],
                 served: list[tuple[float, float]], end: float) -> list[str]:
    out = []
    for t in timelines:
        if t.outcome != "human" or t.amd is None or t.amd.status != "HUMAN" or \
                lost_with_asterisk(t):
            continue
        due = t.amd.t + CONNECT_DEADLINE
        if t.connected is not None and t.connected <= due + TOLERANCE:
            continue
        row = by_id.get(t.id)
        if row is None or not row.abandoned:
            late = "late" if t.connected is not None else "never"
            out.append(f"inv3: live answer {t.id} to {t.number} was bridged {late} and is "
                       f"not counted abandoned (row: {row})")
        if t.connected is None and not _played(t) and \
                _overlap(served, due, _ended(t, end)) >= MESSAGE_CHANCE:
            out.append(f"inv3: abandoned live answer {t.id} to {t.number} never heard the "
                       "safe-harbor message")
    return out


def _played(t: CallTimeline) -> bool:
    return any(SAFE_HARBOR in media for play in t.plays for media in play.media)


def _ended(t: CallTimeline, end: float) -> float:
    if t.hangup is not None:
        return t.hangup.t
    return t.lost if t.lost is not None else end


def _overlap(spans: list[tuple[float, float]], start: float, stop: float) -> float:
    return sum(max(0.0, min(b, stop) - max(a, start)) for a, b in spans)


def crowded_bridges(records: Iterable[Record]) -> list[str]:
    return [f"inv4: bridge {b.bridge} held {b.peak} channels at {b.at:.3f}: {b.members}"
            for record in records for b in overfull_bridges(record)]


def leftovers(name: str, state: dict[str, Any] | None) -> list[str]:
    if state is None:
        return [f"inv4: sim {name} did not answer at the end"]
    if not state["channels"] and not state["bridges"]:
        return []
    return [f"inv4: sim {name} still has {len(state['channels'])} channels and "
            f"{len(state['bridges'])} bridges after every engine stopped: "
            f"{[c['id'] for c in state['channels']][:5]} {[b['id'] for b in state['bridges']][:5]}"]


async def recount(conn: asyncpg.Connection, campaign: str) -> tuple[int, int]:
    """(live answers, abandoned) of the campaign's rows over the regulatory window."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE a.live_answer OR a.abandoned) AS live,
                  count(*) FILTER (WHERE a.abandoned) AS abandoned
           FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id
           WHERE c.name = $1 AND coalesce(a.originated_at, a.created_at)
                 > now() - interval '30 days'""", campaign)
    return int(row["live"]), int(row["abandoned"])


def timelines_of(records: Iterable[Record]) -> list[CallTimeline]:
    return [t for record in records for t in call_timelines(record)]
