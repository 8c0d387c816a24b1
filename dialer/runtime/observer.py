"""What the pacer learns from the engine's own calls, and the ledgers it reads.

The observer watches the commands the core emits (their times are engine-clock
seconds) and feeds the campaign's :class:`Learner`: ring-to-answer and live-answer
times, AMD verdict times, talk and wrap-up times. It also keeps the abandonment
ledgers the pacer needs: the regulatory window (seeded from the database at start),
today, and the last minute.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from dialer.core import commands as c
from dialer.core.pacing import Learner, Ledger


@dataclass
class _Times:
    dialed: float
    answered: float | None = None
    bridged: float | None = None
    live: bool = False


@dataclass
class Ledgers:
    """Live answers and abandons: the regulatory window, today, the last minute."""

    window_live: int = 0
    window_abandoned: int = 0
    day: str = ""
    day_live: int = 0
    day_abandoned: int = 0
    recent_live: deque[float] = field(default_factory=deque)
    recent_abandoned: deque[float] = field(default_factory=deque)

    def _roll(self, today: str) -> None:
        if today != self.day:
            self.day, self.day_live, self.day_abandoned = today, 0, 0

    def live(self, now: float, today: str) -> None:
        self._roll(today)
        self.window_live += 1
        self.day_live += 1
        self.recent_live.append(now)

    def abandoned(self, now: float, today: str) -> None:
        self._roll(today)
        self.window_abandoned += 1
        self.day_abandoned += 1
        self.recent_abandoned.append(now)

    def last_minute(self, now: float) -> Ledger:
        for q in (self.recent_live, self.recent_abandoned):
            while q and q[0] < now - 60:
                q.popleft()
        return Ledger(len(self.recent_live), len(self.recent_abandoned))

    @property
    def window(self) -> Ledger:
        return Ledger(self.window_live, self.window_abandoned)

    @property
    def today(self) -> Ledger:
        return Ledger(self.day_live, self.day_abandoned)


class CampaignObserver:
    """Feeds one campaign's learner and ledgers from the core's commands."""

    def __init__(self, campaign: str, learner: Learner, ledgers: Ledgers) -> None:
        self.campaign, self.learner, self.ledgers = campaign, learner, ledgers
        self.calls: dict[str, _Times] = {}
        self.dialed: deque[float] = deque()
        self.wrapups: dict[str, float] = {}

    def dialing(self, attempt_id: str, now: float) -> None:
        self.calls[attempt_id] = _Times(now)
        self.dialed.append(now)

    def dialed_last_minute(self, now: float) -> int:
        while self.dialed and self.dialed[0] < now - 60:
            self.dialed.popleft()
        return len(self.dialed)

    def ringing_since(self, attempt_id: str) -> float | None:
        t = self.calls.get(attempt_id)
        return t.dialed if t else None

    def answered_at(self, attempt_id: str) -> float | None:
        t = self.calls.get(attempt_id)
        return t.answered if t else None

    def observe(self, cmds: list[c.Command], now: float, today: str) -> None:
        for cmd in cmds:
            if isinstance(cmd, c.RecordAttempt) and cmd.attempt_id in self.calls:
                self._record(cmd.attempt_id, cmd.as_dict(), now)
            elif isinstance(cmd, c.LedgerLiveAnswer) and cmd.campaign == self.campaign:
                self.ledgers.live(now, today)
            elif isinstance(cmd, c.LedgerAbandon) and cmd.campaign == self.campaign:
                self.ledgers.abandoned(now, today)
            elif isinstance(cmd, c.AgentStateChanged):
                self._agent(cmd, now)

    def _record(self, attempt_id: str, fields: dict[str, object], now: float) -> None:
        t = self.calls[attempt_id]
        if "answered_at" in fields:
            t.answered = now
        if "amd_status" in fields and t.answered is not None:
            human = fields["amd_status"] in ("HUMAN", "NOTSURE")
            self.learner.screened(now, now - t.answered, human)
            self.learner.attempt(now, t.answered - t.dialed, now - t.dialed if human else None)
            t.live = human
        if "bridged_at" in fields:
            t.bridged = now
        if "ended_at" in fields:
            self._ended(attempt_id, t, now)

    def _ended(self, attempt_id: str, t: _Times, now: float) -> None:
        del self.calls[attempt_id]
        if t.answered is None:
            self.learner.attempt(now, now - t.dialed, None)
        if t.bridged is not None:
            self.learner.talked(now, now - t.bridged)

    def _agent(self, cmd: c.AgentStateChanged, now: float) -> None:
        if cmd.new == "wrap_up":
            self.wrapups[cmd.agent] = now
        elif cmd.old == "wrap_up" and cmd.agent in self.wrapups:
            self.learner.wrapped(now, now - self.wrapups.pop(cmd.agent))
