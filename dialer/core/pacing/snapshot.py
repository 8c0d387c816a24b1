"""What a pacer sees and what it answers.

The engine (or the pacing simulation) fills a :class:`Snapshot` on every relevant event
and at least every 250 ms, asks the campaign's pacer, and exports the :class:`Decision`
figures as metrics. Times are seconds on the caller's monotonic clock: a snapshot carries
``now`` and the moment each agent entered its state and each call started ringing, so no
pacer ever reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialer.core.pacing.estimates import Estimates


@dataclass(frozen=True, slots=True)
class Ledger:
    """Live answers and abandoned calls over one window (regulatory, day, last minute)."""

    live: int = 0
    abandoned: int = 0

    @property
    def rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    def headroom(self, limit: float) -> float:
        """Abandons the window still allows at ``limit`` (negative when over)."""
        return limit * self.live - self.abandoned


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Agents, calls in flight, learned estimates and ledgers at ``now``.

    ready: when each ready (idle, unreserved) agent became ready.
    talking / wrapping: when each busy agent started talking / started wrap-up.
    paused: agents logged in but paused (not dialled for).
    ringing: when each call in flight started ringing (the dial time).
    screening: when each answered call entered AMD (waiting for its verdict).
    waiting: live answers waiting for an agent right now.
    ledger: the regulatory window (30 days in the US); today / last_minute: the
        calendar day and the last 60 s, as the VICIdial-style baseline needs them.
    dialed_last_minute: calls placed in the last 60 s.
    shift_fraction: the elapsed share of the working day (the baseline tapers on it).
    """

    now: float
    ready: tuple[float, ...] = ()
    talking: tuple[float, ...] = ()
    wrapping: tuple[float, ...] = ()
    paused: int = 0
    ringing: tuple[float, ...] = ()
    screening: tuple[float, ...] = ()
    waiting: int = 0
    estimates: Estimates = field(default_factory=Estimates)
    ledger: Ledger = Ledger()
    today: Ledger = Ledger()
    last_minute: Ledger = Ledger()
    dialed_last_minute: int = 0
    shift_fraction: float = 0.0

    @property
    def in_flight(self) -> int:
        """Calls placed and not yet with an agent (ringing, in AMD, waiting)."""
        return len(self.ringing) + len(self.screening) + self.waiting

    @property
    def staffed(self) -> int:
        """Agents who take calls: ready, talking or in wrap-up (paused excluded)."""
        return len(self.ready) + len(self.talking) + len(self.wrapping)


@dataclass(frozen=True, slots=True)
class Decision:
    """How many calls to place now, with the figures the engine exports as metrics.

    dial_level: calls in flight after this decision per available agent.
    expected_live: live answers expected within the pacer's horizon.
    available_agents: agents expected free within the horizon (ready ones included).
    headroom: abandons the regulatory ledger still allows.
    mode: which rule decided (``predictive``, ``cold_start``, ``ceiling``...).
    """

    calls: int
    mode: str
    dial_level: float = 0.0
    expected_live: float = 0.0
    available_agents: float = 0.0
    headroom: float = 0.0
    expected_abandons: float = 0.0


def dial_level(snapshot: Snapshot, calls: int) -> float:
    """Calls in flight (after placing ``calls``) per ready-or-busy agent."""
    agents = snapshot.staffed
    return (snapshot.in_flight + calls) / agents if agents else 0.0
