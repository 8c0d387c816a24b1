"""What the HTTP API needs from the engine: one protocol, frozen results, typed errors.

The routes call a :class:`ControlPort` and never reach into the engine. The engine
implements the port; the API tests use an in-memory implementation. Methods raise
:class:`NotFound` for an unknown campaign, agent or attempt, :class:`InvalidSetting`
for a value outside its legal bounds (naming the field), and :class:`Conflict` when
the request is well formed but not possible now (an agent who is not logged in cannot
be made ready). The error middleware turns these into 404, 422 and 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

CampaignState = Literal["active", "paused", "stopped"]
CampaignAction = Literal["start", "pause", "stop"]
PACING_MODES = ("preview", "progressive", "power", "predictive", "broadcast")
READINESS_PARTS = ("db", "ami", "ari", "filter", "in_step")


class PortError(Exception):
    """Base of the errors a port raises for the API to report."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(PortError):
    status = 404

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"unknown {kind} {key!r}", field=kind)
        self.kind, self.key = kind, key


class InvalidSetting(PortError):
    """A value outside the legal or technical bounds; ``field`` names it."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class Conflict(PortError):
    status = 409


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    name: str
    state: CampaignState
    mode: str
    region: str
    agents_logged_in: int
    calls_in_flight: int


@dataclass(frozen=True, slots=True)
class PacingSettings:
    """A campaign's live pacing settings."""

    mode: str
    abandon_target: float
    connect_deadline_s: float
    ring_timeout_s: float
    max_dial_level: float
    power_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class PacingUpdate:
    """A partial change: only the fields that are not None change."""

    mode: str | None = None
    abandon_target: float | None = None
    connect_deadline_s: float | None = None
    ring_timeout_s: float | None = None
    max_dial_level: float | None = None
    power_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    window: str
    ratio: float
    target: float
    live_answers: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    name: str
    state: CampaignState
    mode: str
    dial_level: float
    calls_in_flight: int
    abandon: tuple[AbandonWindow, ...]
    agents: Mapping[str, int]
    outcomes_15m: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the wallboard shows, at one instant.

    ``agents`` counts agents by state; ``outcomes_15m`` finished attempts by outcome and
    ``compliance_blocks`` refusals by reason code, both over the last 15 minutes.
    """

    at: datetime
    campaigns: tuple[CampaignStatus, ...]
    agents: Mapping[str, int]
    outcomes_15m: Mapping[str, int]
    compliance_blocks: Mapping[str, int]
    calls_in_flight: int


@dataclass(frozen=True, slots=True)
class AgentInfo:
    name: str
    state: str
    state_since: datetime
    endpoint: str | None = None
    campaign: str | None = None
    pause_reason: str | None = None
    attempt_id: str | None = None


@dataclass(frozen=True, slots=True)
class VerdictDetail:
    """One rule that blocked: its reason code, a sentence, and the list or rule it used."""

    reason: str
    message: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The compliance verdict recorded when the attempt was dialled."""

    allowed: bool
    reasons: tuple[str, ...]
    details: tuple[VerdictDetail, ...] = ()
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    id: str
    campaign: str
    phone: str
    created_at: datetime
    outcome: str | None
    verdict: Verdict
    agent: str | None = None
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    amd_status: str | None = None
    hangup_cause: int | None = None


@dataclass(frozen=True, slots=True)
class OptOutResult:
    phone: str
    list: str
    added: bool


@dataclass(frozen=True, slots=True)
class Disposition:
    attempt_id: str
    code: str
    notes: str | None = None
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each part is up (True) or down; ``detail`` says why a part is down.
    ``in_step``: the engine has taken over what dead engines left, and may dial."""

    db: bool
    ami: bool
    ari: bool
    filter: bool
    in_step: bool = True
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.db and self.ami and self.ari and self.filter and self.in_step


class ControlPort(Protocol):
    """The engine as the API sees it."""

    async def list_campaigns(self) -> tuple[CampaignInfo, ...]: ...

    async def campaign_action(self, campaign: str, action: CampaignAction) -> CampaignInfo: ...

    async def get_pacing(self, campaign: str) -> PacingSettings: ...

    async def set_pacing(self, campaign: str, update: PacingUpdate) -> PacingSettings: ...

    async def status(self) -> StatusSnapshot: ...

    async def agents(self) -> tuple[AgentInfo, ...]: ...

    async def attempt(self, attempt_id: str) -> AttemptInfo: ...

    async def add_optout(self, phone: str, campaign: str | None, source: str) -> OptOutResult:
        ...

    async def readiness(self) -> Readiness: ...

    async def agent_login(self, agent: str, endpoint: str, campaign: str | None) -> AgentInfo:
        ...

    async def agent_ready(self, agent: str) -> AgentInfo: ...

    async def agent_pause(self, agent: str, reason: str) -> AgentInfo: ...

    async def agent_logout(self, agent: str) -> AgentInfo: ...

    async def agent_disposition(self, agent: str, disposition: Disposition) -> AgentInfo: ...
