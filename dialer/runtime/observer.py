"""What the pacer learns from the engine's own calls, and the ledgers it reads.

The observer watches the commands the core emits (their times are engine-clock
seconds) and feeds the campaign's :class:`Learner`: ring-to-answer and live-answer
times, AMD verdict times, talk and wrap-up times. It also keeps the abandonment
ledgers the pacer needs: the regulatory window, today, and the last minute.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialer.core import commands as c
from dialer.core.compliance.rules import AbandonWindow
from dialer.core.pacing import Learner, Ledger

DAY = AbandonWindow("day")


@dataclass
class _Times:
    dialed: float
    answered: float | None = None
    bridged: float | None = None
    live: bool = False


class Ledgers:
    """A campaign's abandonment ledgers. The regulatory window and today are read from
    the compliance filter's ledger, which counts every engine's attempts from Postgres
    (and this engine's own at once, by attempt id), so the pacer, the compliance check
    and the metrics see one count. The last minute is this engine's own."""

    def __init__(self, campaign: str, compliance: Any, window: AbandonWindow,
                 wall: Callable[[], datetime]) -> None:
        self.campaign, self.compliance, self.span, self.wall = campaign, compliance, window, wall
        self.recent_live: deque[float] = deque()
        self.recent_abandoned: deque[float] = deque()

    def live(self, attempt_id: str, phone: int, now: float) -> None:
        self.compliance.note_attempt(phone, self.wall(), False, campaign=self.campaign,
                                     live_answer=True, attempt_id=attempt_id)
        self.recent_live.append(now)

    def abandoned(self, attempt_id: str, phone: int, now: float) -> None:
        self.compliance.note_attempt(phone, self.wall(), True, campaign=self.campaign,
                                     attempt_id=attempt_id)
        self.recent_abandoned.append(now)

    def last_minute(self, now: float) -> Ledger:
        for q in (self.recent_live, self.recent_abandoned):
            while q and q[0] < now - 60:
                q.popleft()
        return Ledger(len(self.recent_live), len(self.recent_abandoned))

    def _since(self, start: datetime) -> Ledger:
        until = self.wall()
        abandoned, live = self.compliance.abandon_counts(
            self.campaign, start - timedelta(microseconds=1), until)
        return Ledger(live, abandoned)

    @property
    def window(self) -> Ledger:
        return self._since(self.span.start(self.wall()))

    @property
    def today(self) -> Ledger:
        return self._since(DAY.start(self.wall()))


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

    def observe(self, cmds: list[c.Command], now: float) -> None:
        for cmd in cmds:
            if isinstance(cmd, c.RecordAttempt) and cmd.attempt_id in self.calls:
                self._record(cmd.attempt_id, cmd.as_dict(), now)
            elif isinstance(cmd, c.LedgerLiveAnswer) and cmd.campaign == self.campaign:
                self.ledgers.live(cmd.attempt_id, cmd.phone, now)
            elif isinstance(cmd, c.LedgerAbandon) and cmd.campaign == self.campaign:
                self.ledgers.abandoned(cmd.attempt_id, cmd.phone, now)
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
