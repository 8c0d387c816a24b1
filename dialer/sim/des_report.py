"""Figures of one simulated shift: what `dialer bench pacing` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Tally:
    """Counters the simulation keeps while it runs.

    live / abandoned count people: a human whose call AMD wrongly judged a machine is a
    live answer that got no agent, so it is abandoned. ``ledger_*`` is what the dialer
    itself sees (AMD verdicts and its own 2 s timer), which is what the pacer is fed.
    """

    dialed: int = 0
    live: int = 0
    abandoned: int = 0
    ledger_live: int = 0
    ledger_abandoned: int = 0
    optouts: int = 0
    bridged: int = 0
    idle_s: float = 0.0
    talk_s: float = 0.0
    agent_s: float = 0.0
    decisions: int = 0
    events: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    outcomes: list[tuple[float, bool]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ShiftResult:
    scenario: str
    pacer: str
    agents: int
    seed: int
    hours: float
    talk_min_per_agent_hour: float
    occupancy: float
    abandon_rate: float
    worst_window_rate: float
    window_s: float
    mean_wait_s: float
    calls_per_agent_hour: float
    live: int
    abandoned: int
    dialed: int
    optouts: int
    decisions: int
    events: int
    modes: dict[str, int]
    wall_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst_window(outcomes: Sequence[tuple[float, bool]], window_s: float, end_s: float) -> float:
    """The highest abandonment rate over any ``window_s`` window ending at a live answer
    (the whole shift when it is shorter than the window)."""
    if end_s <= window_s or not outcomes:
        return rate(outcomes)
    worst, start, dropped = 0.0, 0, 0
    for i, (t, abandoned) in enumerate(outcomes):
        dropped += abandoned
        while outcomes[start][0] < t - window_s:
            dropped -= outcomes[start][1]
            start += 1
        if t >= window_s:
            worst = max(worst, dropped / (i + 1 - start))
    return worst


def rate(outcomes: Sequence[tuple[float, bool]]) -> float:
    return sum(a for _, a in outcomes) / len(outcomes) if outcomes else 0.0


def summarize(tally: Tally, *, scenario: str, pacer: str, agents: int, seed: int,
              shift_s: float, window_s: float, wall_s: float) -> ShiftResult:
    hours = tally.agent_s / 3600.0
    outcomes = sorted(tally.outcomes)
    return ShiftResult(
        scenario=scenario, pacer=pacer, agents=agents, seed=seed, hours=shift_s / 3600.0,
        talk_min_per_agent_hour=tally.talk_s / 60.0 / hours if hours else 0.0,
        occupancy=tally.talk_s / tally.agent_s if tally.agent_s else 0.0,
        abandon_rate=tally.abandoned / tally.live if tally.live else 0.0,
        worst_window_rate=worst_window(outcomes, window_s, shift_s), window_s=window_s,
        mean_wait_s=tally.idle_s / tally.bridged if tally.bridged else 0.0,
        calls_per_agent_hour=tally.dialed / hours if hours else 0.0, live=tally.live,
        abandoned=tally.abandoned, dialed=tally.dialed, optouts=tally.optouts,
        decisions=tally.decisions, events=tally.events, modes=dict(tally.modes),
        wall_s=wall_s)
