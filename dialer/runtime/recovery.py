"""At start, the engine takes over what dead engines left on its Asterisk (its own
earlier run included): their open attempts, their agents' sessions, their leads.

* An agent whose phone is still up in its own bridge is kept as it is (ready, paused,
  or talking to the customer in that bridge). Any other agent gets the phone called
  again and returns to what they were doing, with nobody logging in by hand.
* A call still up in Asterisk is adopted (:mod:`dialer.core.adoption`): followed to its
  end like any other, a waiting live answer getting an agent or the safe-harbor message.
* A call that is gone is closed with the outcome its row allows
  (:func:`dialer.core.adoption.settle`), and its lead follows the retry rules.

Everything else of the agent-line form, or of a closed attempt, is a leftover that the
first reconciliation pass removes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from dialer.adapters.agent_lines import Line, is_ours
from dialer.campaigns import RetryRules, campaign_from_mapping
from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.adoption import Observed, adopt, settle
from dialer.core.agent import PHONE, Agent, AgentState
from dialer.core.campaign import DIAL_GRACE
from dialer.core.events import AmdStatus
from dialer.core.retry import decide_retry
from dialer.runtime.fates import fate_of
from dialer.runtime.reconcile import AsteriskView
from dialer.store import agents as store_agents
from dialer.store import campaigns as campaign_store
from dialer.store.hopper import LeasedLead
from dialer.store.open_attempts import OpenAttempt, lost_while_away

if TYPE_CHECKING:
    from dialer.runtime.agents import AgentRecords
    from dialer.runtime.dialing import CampaignDialer
    from dialer.runtime.service import EngineService

log = structlog.get_logger("dialer.recovery")


class RetryBook:
    """Retry rules by campaign id, read once from the database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._rules: dict[int, RetryRules] = {}

    async def rules(self, campaign_id: int) -> RetryRules:
        if campaign_id not in self._rules:
            row = await campaign_store.by_id(self.pool, campaign_id)
            self._rules[campaign_id] = RetryRules() if row is None else _retry_of(row)
        return self._rules[campaign_id]


def _retry_of(row: Any) -> RetryRules:
    raw = json.loads(row["definition"])
    raw.pop("compliance", None)
    return campaign_from_mapping(raw, f"campaigns.{row['name']}").retry


async def close_gone(writer: Any, book: RetryBook, row: OpenAttempt, at: datetime) -> str:
    """Close an attempt whose call ended unseen; returns its outcome."""
    outcome, live, abandoned = settle(
        answered=row.answered_at is not None, amd=row.amd_status, live=row.live_answer,
        abandoned=row.abandoned, bridged=row.bridged_at is not None)
    writer.track(row.attempt_id, row.lead_id)
    writer.update(row.attempt_id, {"live_answer": live, "abandoned": abandoned})
    retry = decide_retry(outcome, row.lead_attempts, await book.rules(row.campaign_id), at)
    writer.finish(row.attempt_id, outcome, at, retry)
    return outcome


@dataclass
class Recovery:
    """One start-up takeover; ``run`` does it all. ``optout(phone, attempt)`` honours an
    opt-out key the dialplan took while no engine listened."""

    service: EngineService
    pool: asyncpg.Pool
    writer: Any
    records: AgentRecords
    dialers: Mapping[str, CampaignDialer]
    engine_id: str
    book: RetryBook
    ari: Any
    optout: Callable[[int, str], Awaitable[None]]
    adopted: list[str] = field(default_factory=list)
    closed: dict[str, int] = field(default_factory=dict)
    agents_kept: list[str] = field(default_factory=list)
    agents_recalled: list[str] = field(default_factory=list)

    async def run(self, owners: list[str], rows: list[OpenAttempt], view: AsteriskView,
                  away_since: datetime | None = None) -> None:
        if away_since is not None:
            await self._relook(away_since)
        open_ids = {r.attempt_id for r in rows}
        sessions = await store_agents.sessions_of(self.pool, owners)
        bridge_agent = self._agents(sessions, view, open_ids)
        await store_agents.adopt_sessions(self.pool, [s.session_id for s in sessions
                                                      if s.campaign in self.dialers],
                                          self.engine_id)
        for row in rows:
            await self._call(row, view, bridge_agent)
        log.info("took over", adopted=len(self.adopted), closed=self.closed,
                 agents_kept=len(self.agents_kept), agents_recalled=len(self.agents_recalled))

    # ---------------------------------------------------------------- agents

    def _agents(self, sessions: list[store_agents.OpenSession], view: AsteriskView,
                open_ids: set[str]) -> dict[str, str]:
        """Restore each session's agent (once: a takeover tried again skips them);
        returns the agent of each kept holding bridge."""
        for s in sessions:
            if s.campaign not in self.dialers or s.agent in self.service.engine.agents:
                continue
            self.records.adopt(s.agent, s.agent_id, s.session_id)
            if not self._keep(s, view, open_ids):
                self._recall(s)
        return {line.bridge: name for name, line in self._lines().lines.items()}

    def _keep(self, s: store_agents.OpenSession, view: AsteriskView, open_ids: set[str]
              ) -> bool:
        if not s.channel_id or not s.bridge_id or not view.line_ok(Line(s.channel_id,
                                                                           s.bridge_id)):
            return False
        others = [c for c in view.bridges[s.bridge_id].channels if c != s.channel_id]
        if len(others) > 1:
            return False
        customer = others[0] if others and others[0] in open_ids else None
        now = self.service.clock.now()
        state = AgentState.TALKING if customer else (
            AgentState.PAUSED if s.paused_reason else AgentState.READY)
        self.service.engine.restore(Agent(
            s.agent, s.endpoint, state, since=now, campaign=s.campaign, attempt_id=customer,
            pause_reason=s.paused_reason if state is AgentState.PAUSED else None))
        self._lines().adopt(s.agent, s.channel_id, s.bridge_id)
        if not is_ours(s.channel_id):
            self.service.translator.note_agent_channel(s.channel_id, s.agent)
        self.agents_kept.append(s.agent)
        return True

    def _recall(self, s: store_agents.OpenSession) -> None:
        self.service.engine.restore(Agent(
            s.agent, s.endpoint, AgentState.PAUSED, since=self.service.clock.now(),
            pause_reason=PHONE, resume=s.paused_reason, campaign=s.campaign))
        self.service.feed(e.AgentPhoneLost(s.agent))
        self.agents_recalled.append(s.agent)

    def _executor(self) -> Any:
        assert self.service.executor is not None
        return self.service.executor

    def _lines(self) -> Any:
        return self._executor().lines

    # ---------------------------------------------------------------- calls

    async def _call(self, row: OpenAttempt, view: AsteriskView,
                    bridge_agent: dict[str, str]) -> None:
        if row.attempt_id in self.service.engine.calls:
            return
        channel = view.channels.get(row.attempt_id)
        dialer = next((d for d in self.dialers.values() if d.setup.id == row.campaign_id),
                      None)
        if channel is None or dialer is None:
            if channel is not None:
                self._executor().run([c.HangupCall(row.attempt_id)])
            else:
                row = await self._noted(row)
            outcome = await close_gone(self.writer, self.book, row,
                                       self.service.clock.wall())
            self.closed[outcome] = self.closed.get(outcome, 0) + 1
            return
        bridge = view.bridge_of(row.attempt_id)
        seen = Observed(
            row.attempt_id, row.phone, up=channel.state == "Up",
            in_stasis=bool(channel.dialplan and channel.dialplan.app_name == "Stasis"),
            amd=_amd(channel, row), agent=bridge_agent.get(bridge or ""),
            abandoned=row.abandoned, live_since=self._engine_time(row.amd_at)
            if row.live_answer else None)
        if row.lead_id is not None:
            dialer.adopt_lead(row.attempt_id, LeasedLead(
                row.lead_id, row.campaign_id, row.phone, None, None, (), row.lead_attempts, {}))
        give_up = float(dialer.setup.definition.ring_timeout) + DIAL_GRACE
        call, cmds = adopt(seen, dialer.policy, self.service.clock.now(), give_up)
        self.service.take_over(call, cmds)
        self.adopted.append(row.attempt_id)

    async def _relook(self, since: datetime) -> None:
        """Attempts another engine closed as lost while this one was dead: where the
        dialplan noted a person left alone, the row now says abandoned."""
        for attempt_id, phone in await lost_while_away(self.pool, self.engine_id, since):
            fate = await fate_of(self.ari, attempt_id)
            if fate.optout:
                await self.optout(phone, attempt_id)
            if fate.abandoned:
                self.writer.update(attempt_id, {"outcome": "abandoned", "abandoned": True,
                                                "live_answer": True})
                self.closed["abandoned (was lost)"] = \
                    self.closed.get("abandoned (was lost)", 0) + 1

    async def _noted(self, row: OpenAttempt) -> OpenAttempt:
        """The row, with what the dialplan noted if a person answered alone."""
        fate = await fate_of(self.ari, row.attempt_id)
        if fate.optout:
            await self.optout(row.phone, row.attempt_id)
        if not fate.abandoned:
            return row
        return dataclasses.replace(row, live_answer=True, abandoned=True,
                                   amd_status=row.amd_status or "HUMAN")

    def _engine_time(self, at: datetime | None) -> float | None:
        if at is None:
            return None
        clock = self.service.clock
        return clock.now() - (clock.wall() - at).total_seconds()


def _amd(channel: Any, row: OpenAttempt) -> AmdStatus | None:
    """AMD's verdict from the Stasis arguments (``dialer,HUMAN,...``), else the row."""
    data = channel.dialplan.app_data if channel.dialplan else ""
    for word in [*data.split(",")[1:2], row.amd_status or ""]:
        if word in AmdStatus.__members__:
            return AmdStatus(word)
    return None
