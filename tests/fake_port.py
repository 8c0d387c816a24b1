"""An in-memory ControlPort for the API and wallboard tests: a small fake engine.

It keeps campaigns, agents, attempts and opt-outs in dicts, applies the US and Canadian
pacing bounds, and ``tick()`` moves the live numbers the way a running shift would.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer

from dialer.api.app import create_app
from dialer.api.auth import Principal, TokenAuth
from dialer.api.ports import (
    AbandonWindow,
    AgentInfo,
    AttemptInfo,
    CampaignAction,
    CampaignInfo,
    CampaignState,
    CampaignStatus,
    Conflict,
    Disposition,
    InvalidSetting,
    NotFound,
    OptOutResult,
    PacingSettings,
    PacingUpdate,
    Readiness,
    StatusSnapshot,
    Verdict,
)

LIMITS = {"US": (0.03, 2.0, 15.0), "CA": (0.05, 2.0, 15.0)}
OUTCOMES = ("human", "machine", "busy", "no_answer", "congestion", "answer_hangup", "abandoned")
OUTCOME_WEIGHTS = (40, 18, 9, 22, 3, 6, 1)
ACTION_STATE: dict[str, CampaignState] = {"start": "active", "pause": "paused", "stop": "stopped"}


@dataclass
class FakeCampaign:
    name: str
    region: str
    pacing: PacingSettings
    state: CampaignState = "paused"
    dial_level: float = 1.0
    in_flight: int = 0
    live_answers: int = 800  # the 30-day ledger before this shift
    abandoned: int = 12
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class FakeAgent:
    name: str
    state: str = "logged_out"
    endpoint: str | None = None
    campaign: str | None = None
    pause_reason: str | None = None
    attempt_id: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    dispositions: list[Disposition] = field(default_factory=list)


class FakeControl:
    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        us = PacingSettings("predictive", 0.03, 2.0, 20.0, 3.0)
        self.campaigns = {
            "sales": FakeCampaign("sales", "US", us),
            "renewals": FakeCampaign("renewals", "CA", dataclasses.replace(us, mode="power",
                                                                           power_ratio=1.5)),
        }
        self.roster = {name: FakeAgent(name) for name in ("alice", "bob", "carol", "dave")}
        self.attempts: dict[str, AttemptInfo] = {}
        self.optouts: set[tuple[str, str | None]] = set()
        self.blocks: Counter[str] = Counter()
        self.ready = Readiness(db=True, ami=True, ari=True, filter=True)
        self.status_calls = 0

    def _campaign(self, name: str) -> FakeCampaign:
        if name not in self.campaigns:
            raise NotFound("campaign", name)
        return self.campaigns[name]

    def _agent(self, name: str) -> FakeAgent:
        if name not in self.roster:
            raise NotFound("agent", name)
        return self.roster[name]

    def _info(self, c: FakeCampaign) -> CampaignInfo:
        logged = sum(1 for a in self.roster.values()
                     if a.campaign == c.name and a.state != "logged_out")
        return CampaignInfo(c.name, c.state, c.pacing.mode, c.region, logged, c.in_flight)

    async def list_campaigns(self) -> tuple[CampaignInfo, ...]:
        return tuple(self._info(c) for c in self.campaigns.values())

    async def campaign_action(self, campaign: str, action: CampaignAction) -> CampaignInfo:
        c = self._campaign(campaign)
        if c.state == "stopped" and action != "start":
            raise Conflict(f"campaign {campaign!r} is stopped")
        c.state = ACTION_STATE[action]
        return self._info(c)

    async def get_pacing(self, campaign: str) -> PacingSettings:
        return self._campaign(campaign).pacing

    async def set_pacing(self, campaign: str, update: PacingUpdate) -> PacingSettings:
        c = self._campaign(campaign)
        changes = {k: v for k, v in dataclasses.asdict(update).items() if v is not None}
        new = dataclasses.replace(c.pacing, **changes)
        _check_bounds(c.region, new)
        c.pacing = new
        return new

    async def status(self) -> StatusSnapshot:
        self.status_calls += 1
        now = datetime.now(UTC)
        campaigns = tuple(self._status(c) for c in self.campaigns.values())
        outcomes: Counter[str] = Counter()
        for c in self.campaigns.values():
            outcomes.update(c.outcomes)
        agents = Counter(a.state for a in self.roster.values())
        return StatusSnapshot(now, campaigns, dict(agents), dict(outcomes), dict(self.blocks),
                              sum(c.in_flight for c in self.campaigns.values()))

    def _status(self, c: FakeCampaign) -> CampaignStatus:
        ratio = c.abandoned / c.live_answers if c.live_answers else 0.0
        window = AbandonWindow("rolling_30d", ratio, c.pacing.abandon_target,
                               c.live_answers, c.abandoned)
        agents = Counter(a.state for a in self.roster.values() if a.campaign == c.name)
        return CampaignStatus(c.name, c.state, c.pacing.mode, c.dial_level, c.in_flight,
                              (window,), dict(agents), dict(c.outcomes))

    async def agents(self) -> tuple[AgentInfo, ...]:
        return tuple(self._agent_info(a) for a in self.roster.values())

    def _agent_info(self, a: FakeAgent) -> AgentInfo:
        return AgentInfo(a.name, a.state, a.since, a.endpoint, a.campaign, a.pause_reason,
                         a.attempt_id)

    async def attempt(self, attempt_id: str) -> AttemptInfo:
        if attempt_id not in self.attempts:
            raise NotFound("attempt", attempt_id)
        return self.attempts[attempt_id]

    async def add_optout(self, phone: str, campaign: str | None, source: str) -> OptOutResult:
        if campaign is not None:
            self._campaign(campaign)
        key = (phone, campaign)
        added = key not in self.optouts
        self.optouts.add(key)
        return OptOutResult(phone, f"campaign:{campaign}" if campaign else "internal", added)

    async def readiness(self) -> Readiness:
        return self.ready

    def _move(self, a: FakeAgent, state: str, allowed: tuple[str, ...]) -> AgentInfo:
        if a.state not in allowed:
            raise Conflict(f"agent {a.name!r} is {a.state}; cannot become {state}")
        a.state, a.since = state, datetime.now(UTC)
        return self._agent_info(a)

    async def agent_login(self, agent: str, endpoint: str, campaign: str | None) -> AgentInfo:
        a = self._agent(agent)
        if campaign is not None:
            self._campaign(campaign)
        a.endpoint, a.campaign = endpoint, campaign or "sales"
        return self._move(a, "paused", ("logged_out",))

    async def agent_ready(self, agent: str) -> AgentInfo:
        a = self._agent(agent)
        a.pause_reason = None
        return self._move(a, "ready", ("paused",))

    async def agent_pause(self, agent: str, reason: str) -> AgentInfo:
        a = self._agent(agent)
        info = self._move(a, "paused", ("ready", "wrap_up", "paused"))
        a.pause_reason = reason
        return dataclasses.replace(info, pause_reason=reason)

    async def agent_logout(self, agent: str) -> AgentInfo:
        a = self._agent(agent)
        return self._move(a, "logged_out", ("ready", "paused", "wrap_up"))

    async def agent_disposition(self, agent: str, disposition: Disposition) -> AgentInfo:
        a = self._agent(agent)
        if disposition.attempt_id != a.attempt_id:
            raise InvalidSetting("attempt_id", f"not the last call of agent {agent!r}")
        a.dispositions.append(disposition)
        a.attempt_id = None
        return self._move(a, "ready", ("wrap_up",))

    def add_attempt(self, campaign: str, phone: str, outcome: str | None,
                    verdict: Verdict, agent: str | None = None) -> AttemptInfo:
        attempt_id = f"{self.rng.getrandbits(128):032x}"
        attempt_id = "-".join((attempt_id[:8], attempt_id[8:12], attempt_id[12:16],
                               attempt_id[16:20], attempt_id[20:]))
        info = AttemptInfo(attempt_id, campaign, phone, datetime.now(UTC), outcome, verdict,
                           agent)
        self.attempts[attempt_id] = info
        return info

    def tick(self) -> None:
        """A slice of a shift: calls finish, agents move, the ledger grows."""
        for c in self.campaigns.values():
            if c.state != "active":
                continue
            c.in_flight = self.rng.randint(3, 25)
            c.dial_level = round(self.rng.uniform(1.2, 3.2), 2)
            outcomes = self.rng.choices(OUTCOMES, OUTCOME_WEIGHTS, k=self.rng.randint(8, 16))
            c.outcomes.update(outcomes)
            c.live_answers += outcomes.count("human") + outcomes.count("abandoned")
            c.abandoned += outcomes.count("abandoned")
        self.blocks[self.rng.choice(("dnc_national", "outside_calling_hours",
                                     "frequency_cap"))] += 1
        for a in self.roster.values():
            if a.state != "logged_out":
                a.state = self.rng.choice(("ready", "talking", "talking", "wrap_up", "paused"))


def _check_bounds(region: str, p: PacingSettings) -> None:
    abandon, deadline, min_ring = LIMITS.get(region, LIMITS["US"])
    if p.abandon_target > abandon:
        raise InvalidSetting("abandon_target", f"must be at most {abandon} in {region}")
    if p.connect_deadline_s > deadline:
        raise InvalidSetting("connect_deadline_s", f"must be at most {deadline} s in {region}")
    if p.ring_timeout_s < min_ring:
        raise InvalidSetting("ring_timeout_s", f"must be at least {min_ring:g} s in {region}")
    if p.mode == "power" and p.power_ratio is None:
        raise InvalidSetting("power_ratio", "power mode needs a ratio")


SUPERVISOR_TOKEN = "sup-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
ALICE_TOKEN = "agt-alice-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
BOB_TOKEN = "agt-bob-1b2c3d4e5f60718293a4b5c6d7e8f90a"


def make_auth() -> TokenAuth:
    return TokenAuth.from_tokens({
        SUPERVISOR_TOKEN: Principal("supervisor"),
        ALICE_TOKEN: Principal("agent", "alice"),
        BOB_TOKEN: Principal("agent", "bob"),
    })


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def api_client(control: FakeControl, interval: float = 0.05) -> AsyncIterator[TestClient]:
    """A test client on a real socket, serving the API over ``control``."""
    app = create_app(control, make_auth(), status_interval=interval)
    async with TestClient(TestServer(app)) as client:
        yield client
