"""The pacers that need no model: preview, progressive and power."""

from __future__ import annotations

from dataclasses import dataclass

from dialer.core.pacing.snapshot import Decision, Snapshot, dial_level


def progressive_calls(snapshot: Snapshot) -> int:
    """One call in flight per ready agent: every live answer has an agent waiting."""
    return max(0, len(snapshot.ready) - snapshot.in_flight)


def decided(snapshot: Snapshot, calls: int, mode: str, limit: float) -> Decision:
    """A decision with the figures every pacer exports."""
    return Decision(calls=calls, mode=mode, dial_level=dial_level(snapshot, calls),
                    available_agents=float(len(snapshot.ready)),
                    headroom=snapshot.ledger.headroom(limit))


@dataclass(slots=True)
class Preview:
    """The agent asks for the next lead and places the call; nothing is dialled
    automatically."""

    limit: float = 0.03
    name: str = "preview"
    agent_initiated: bool = True

    def decide(self, snapshot: Snapshot) -> Decision:
        return decided(snapshot, 0, "preview", self.limit)


@dataclass(slots=True)
class Progressive:
    """One call per ready agent."""

    limit: float = 0.03
    name: str = "progressive"
    agent_initiated: bool = False

    def decide(self, snapshot: Snapshot) -> Decision:
        return decided(snapshot, progressive_calls(snapshot), "progressive", self.limit)


@dataclass(slots=True)
class Power:
    """A fixed number of calls in flight per ready agent (the campaign's ``ratio``)."""

    ratio: float = 2.0
    limit: float = 0.03
    name: str = "power"
    agent_initiated: bool = False

    def decide(self, snapshot: Snapshot) -> Decision:
        goal = int(self.ratio * len(snapshot.ready) + 1e-9)
        return decided(snapshot, max(0, goal - snapshot.in_flight), "power", self.limit)
