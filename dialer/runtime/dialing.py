"""One campaign's dialing loop: pacer, hopper, compliance at the dial instant, originate.

Every ``pacing_interval`` (250 ms at most), or sooner when something relevant happens,
the loop builds a snapshot of agents and calls, asks the campaign's pacer how many
calls to place, and places them from the hopper of leased leads. Each lead is checked
by the in-memory compliance filter at that instant; a blocked lead is recorded in
``compliance_audit`` and rescheduled or closed, and the next lead is tried.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from dialer.adapters.executor import Clock
from dialer.campaigns import CampaignDef
from dialer.core.agent import Agent, AgentState
from dialer.core.call import CallPolicy, CallState
from dialer.core.commands import Originate
from dialer.core.compliance import CampaignRules
from dialer.core.compliance.numbers import lead_facts
from dialer.core.pacing import Decision, Learner, Pacer, Snapshot, make_pacer
from dialer.core.retry import decide_retry, defer_blocked, is_temporary
from dialer.runtime.observer import CampaignObserver, Ledgers
from dialer.runtime.service import EngineService
from dialer.store import hopper
from dialer.store.attempts import Intent, begin_attempts
from dialer.store.db import DB_DOWN
from dialer.store.hopper import LeasedLead

log = structlog.get_logger("dialer.dialing")


@dataclass
class CampaignSetup:
    id: int
    definition: CampaignDef
    rules: CampaignRules
    status: str = "active"

    @property
    def name(self) -> str:
        return self.definition.name

    def policy(self) -> CallPolicy:
        d = self.definition
        return CallPolicy(
            campaign=d.name, connect_deadline=float(d.connect_deadline),
            machine_action=d.amd.machine_action, broadcast=d.mode == "broadcast",
            safe_harbor=d.recordings.safe_harbor, machine_message=d.recordings.machine_message,
            broadcast_message=d.recordings.broadcast, optout_confirm=d.recordings.optout_confirm,
            optout_key=d.optout_key, press1_key=d.press1_key,
            beep_wait=float(d.amd.greeting_wait), optout_wait=float(d.optout_wait))


@dataclass
class DialerDeps:
    service: EngineService
    pool: asyncpg.Pool
    writer: Any          # dialer.store.attempts.AttemptWriter
    compliance: Any      # dialer.store.compliance.ComplianceFilter
    engine_id: str
    lease_s: float = 120.0
    hopper_size: int = 200
    interval: float = 0.25
    compliance_skew: timedelta = timedelta(0)
    on_block: Callable[[str, tuple[str, ...]], None] | None = None
    telephony_up: Callable[[str], bool] = lambda via: True


class TokenBucket:
    """At most ``rate`` calls per second, with a one-second burst."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at: float | None = None

    def take(self, want: int, now: float) -> int:
        if self.at is not None:
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        granted = max(0, min(want, int(self.tokens)))
        self.tokens -= granted
        return granted

    def give_back(self, unused: int) -> None:
        self.tokens = min(self.rate, self.tokens + unused)


@dataclass
class DialerStats:
    placed: int = 0
    blocked: dict[str, int] = field(default_factory=dict)
    last: Decision | None = None


class CampaignDialer:
    """Places the calls of one campaign."""

    def __init__(self, setup: CampaignSetup, deps: DialerDeps) -> None:
        self.setup, self.deps = setup, deps
        d = setup.definition
        limit = float(setup.rules.abandon_target or 0.03)
        self.broadcast = d.mode == "broadcast"
        self.pacer: Pacer = make_pacer("progressive" if self.broadcast else d.mode,
                                       limit=limit, power_ratio=d.pacing.power_ratio)
        self.learner = Learner()
        self.ledgers = Ledgers(d.name, deps.compliance, setup.rules.effective_window(),
                               self.clock.wall)
        self.observer = CampaignObserver(d.name, self.learner, self.ledgers)
        self.policy = setup.policy()
        self.hopper: deque[LeasedLead] = deque()
        self.stats = DialerStats()
        self.wake = asyncio.Event()
        self.leads: dict[str, LeasedLead] = {}
        self.dialing_enabled = True
        self.bucket = TokenBucket(d.pacing.max_cps)

    @property
    def clock(self) -> Clock:
        return self.deps.service.clock

    # ---------------------------------------------------------------- loop

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.deps.interval):
                    await self.wake.wait()
            except TimeoutError:
                pass
            self.wake.clear()
            try:
                await self.tick()
            except DB_DOWN as exc:
                log.warning("dialing paused: database unreachable", campaign=self.setup.name,
                            error=str(exc))
                await asyncio.sleep(1.0)

    async def tick(self) -> int:
        """One pacing decision; returns the calls placed."""
        if self.setup.status != "active" or not self.dialing_enabled:
            return 0
        if not self.deps.writer.db_up:
            return 0  # Postgres unreachable: calls in progress finish, nothing new starts
        if not self.deps.telephony_up(self.setup.definition.originate_via):
            return 0  # no way to place or control a call: wait for the reconnect
        if not self.deps.compliance.ready():
            return 0  # fail closed without spending leads: every check would block
        now = self.clock.now()
        decision = self._broadcast_lines() if self.broadcast else \
            self.pacer.decide(self.snapshot(now))
        self.stats.last = decision
        want = self.bucket.take(decision.calls, now)
        if want <= 0:
            return 0
        await self._refill(want)
        placed = 0
        try:
            placed = await self._place(want)
        finally:
            self.bucket.give_back(want - placed)
        return placed

    async def _place(self, want: int) -> int:
        """Check leads until ``want`` are allowed, commit their attempts, then dial them:
        an Originate never leaves before its attempt's row is in Postgres."""
        allowed = self._allowed(want)
        if not allowed:
            return 0
        intents = [self._intent(lead, verdict) for lead, verdict in allowed]
        try:
            await begin_attempts(self.deps.pool, intents)
        except BaseException:
            self.hopper.extendleft(reversed([lead for lead, _ in allowed]))
            raise
        for (lead, _), intent in zip(allowed, intents, strict=True):
            self._originate(lead, intent)
        self.stats.placed += len(allowed)
        return len(allowed)

    def _allowed(self, want: int) -> list[tuple[LeasedLead, Any]]:
        waiting_agent = self._ready_agents() > 0
        allowed: list[tuple[LeasedLead, Any]] = []
        while len(allowed) < want and self.hopper:
            lead = self.hopper.popleft()
            verdict = self._check(lead, waiting_agent)
            if verdict.allowed:
                allowed.append((lead, verdict))
            else:
                self._blocked(lead, verdict)
        return allowed

    async def _refill(self, want: int) -> None:
        if len(self.hopper) >= want:
            return
        room = max(self.deps.hopper_size - len(self.hopper), want)
        leads = await hopper.lease_leads(self.deps.pool, self.setup.id, self.deps.engine_id,
                                         room, self.deps.lease_s, self.clock.wall())
        self.hopper.extend(leads)

    # ---------------------------------------------------------------- one lead

    def _compliance_now(self) -> datetime:
        return self.clock.wall() + self.deps.compliance_skew

    def _check(self, lead: LeasedLead, agent_waiting: bool) -> Any:
        rules = self.setup.rules
        facts = lead_facts(lead.phone, rules.region, lead.state, lead.time_zones)
        return self.deps.compliance.check(facts, rules, self._compliance_now(),
                                          agent_waiting=agent_waiting)

    def _intent(self, lead: LeasedLead, verdict: Any) -> Intent:
        return Intent(str(uuid.uuid4()), self.setup.id, lead.lead_id, lead.phone,
                      self.deps.engine_id, self.setup.definition.originate_via,
                      verdict.to_json(), self.clock.wall())

    def _originate(self, lead: LeasedLead, intent: Intent) -> None:
        d, now, aid = self.setup.definition, self.clock.now(), intent.attempt_id
        self.leads[aid] = lead
        self.deps.writer.track(aid, lead.lead_id)
        self.deps.compliance.note_attempt(lead.phone, self._compliance_now(), False,
                                          campaign=d.name, attempt_id=aid)
        dial = d.dial_template.replace("{number}", str(lead.phone))
        variables = (("DIALER_MODE", "agi"),) if d.amd.report == "agi" else ()
        # for the dialplan, should no engine be listening when a person answers
        variables += (("DIALER_SAFE_HARBOR", self.policy.safe_harbor),
                      ("DIALER_OPTOUT_KEY", self.policy.optout_key))
        order = Originate(aid, d.name, lead.phone, dial, d.caller_id, float(d.ring_timeout),
                          d.originate_via, variables)
        self.observer.dialing(aid, now)
        self.deps.service.originate(order, self.policy)

    def _blocked(self, lead: LeasedLead, verdict: Any) -> None:
        reasons = tuple(verdict.reasons)
        for reason in reasons:
            self.stats.blocked[reason] = self.stats.blocked.get(reason, 0) + 1
        if self.deps.on_block is not None:
            self.deps.on_block(self.setup.name, reasons)
        wall = self.clock.wall()
        decision = defer_blocked(reasons, wall) if is_temporary(reasons) else \
            decide_retry("blocked", lead.attempts, self.setup.definition.retry, wall)
        self.deps.writer.settle(lead.lead_id, "blocked", decision)
        executor = self.deps.service.executor
        assert executor is not None
        executor.tasks.submit(f"audit:{lead.lead_id}", lambda: self.deps.compliance.record_block(
            verdict, lead.phone, campaign_id=self.setup.id, lead_id=lead.lead_id, at=wall))

    def adopt_lead(self, attempt_id: str, lead: LeasedLead) -> None:
        """An attempt taken over from a dead engine: its end settles this lead."""
        self.leads[attempt_id] = lead
        self.deps.writer.track(attempt_id, lead.lead_id)

    def ended(self, attempt_id: str, outcome: str, at: datetime) -> None:
        """The attempt is over: its lead is retried or closed by the campaign's rules."""
        lead = self.leads.pop(attempt_id, None)
        attempts = lead.attempts if lead else 0
        decision = decide_retry(outcome, attempts, self.setup.definition.retry, at)
        self.deps.writer.finish(attempt_id, outcome, at, decision)
        self.wake.set()

    # ---------------------------------------------------------------- snapshot

    def _broadcast_lines(self) -> Decision:
        """Agentless broadcast: keep ``broadcast_lines`` calls up, agents or not."""
        lines = self.setup.definition.pacing.broadcast_lines
        busy = len(self.deps.service.engine.in_flight(self.setup.name))
        return Decision(max(0, lines - busy), "broadcast", dial_level=float(lines))

    def _ready_agents(self) -> int:
        return len(self.deps.service.engine.ready_agents(self.setup.name))

    def agents(self) -> list[Agent]:
        """The agents serving this campaign (each serves one)."""
        return [a for a in self.deps.service.engine.agents.values()
                if a.campaign == self.setup.name]

    def snapshot(self, now: float) -> Snapshot:
        engine = self.deps.service.engine
        by_state: dict[AgentState, list[float]] = {s: [] for s in AgentState}
        for agent in self.agents():
            by_state[agent.state].append(agent.since)
        calls = engine.in_flight(self.setup.name)
        ringing = tuple(self.observer.ringing_since(c.attempt_id) or now for c in calls
                        if c.state is CallState.DIALING)
        screening = tuple(self.observer.answered_at(c.attempt_id) or now for c in calls
                          if c.state is CallState.ANSWERED)
        waiting = sum(1 for c in calls if c.state is CallState.CONNECTING)
        return Snapshot(
            now=now, ready=tuple(by_state[AgentState.READY]),
            talking=tuple(by_state[AgentState.TALKING] + by_state[AgentState.RESERVED]),
            wrapping=tuple(by_state[AgentState.WRAP_UP]),
            paused=len(by_state[AgentState.PAUSED]), ringing=ringing, screening=screening,
            waiting=waiting, estimates=self.learner.estimates(now),
            ledger=self.ledgers.window, today=self.ledgers.today,
            last_minute=self.ledgers.last_minute(now),
            dialed_last_minute=self.observer.dialed_last_minute(now))
