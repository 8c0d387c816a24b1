"""What to do: frozen commands the core returns and the executor performs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Originate:
    """Place one call. ``attempt_id`` is the channel id and ActionID: never sent twice."""

    attempt_id: str
    campaign: str
    phone: int
    dial_string: str
    caller_id: str
    ring_timeout: float
    via: str
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class BridgeToAgent:
    attempt_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class LeaveBridge:
    """Take the call out of its agent's holding bridge, if it got there (a join that
    arrives after the connect deadline must not stay)."""

    attempt_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class Play:
    attempt_id: str
    media: str
    playback_id: str


@dataclass(frozen=True, slots=True)
class StopPlayback:
    attempt_id: str
    playback_id: str


@dataclass(frozen=True, slots=True)
class DetectTalk:
    """Report when the far end stops talking (the end of a machine's greeting)."""

    attempt_id: str


@dataclass(frozen=True, slots=True)
class HangupCall:
    attempt_id: str
    reason: str = "normal"


@dataclass(frozen=True, slots=True)
class StartTimer:
    attempt_id: str
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    attempt_id: str
    name: str


@dataclass(frozen=True, slots=True)
class RecordAttempt:
    """Update the attempt's row: only the fields given change."""

    attempt_id: str
    fields: tuple[tuple[str, object], ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class AddOptOut:
    attempt_id: str
    phone: int


@dataclass(frozen=True, slots=True)
class LedgerAbandon:
    """Count an abandoned live answer in the campaign's ledgers."""

    attempt_id: str
    campaign: str
    phone: int


@dataclass(frozen=True, slots=True)
class LedgerLiveAnswer:
    attempt_id: str
    campaign: str
    phone: int = 0


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The attempt is over: schedule the lead's retry from ``outcome``."""

    attempt_id: str
    outcome: str
    agent: str | None = None
    campaign: str = ""


@dataclass(frozen=True, slots=True)
class CallAgentPhone:
    """Originate the nailed-up call to an agent's softphone."""

    agent: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class HangupAgentPhone:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent: str
    old: str
    new: str
    event: str


Command = (Originate | BridgeToAgent | LeaveBridge | Play | StopPlayback | DetectTalk | HangupCall
           | StartTimer | CancelTimer | RecordAttempt | AddOptOut | LedgerAbandon
           | LedgerLiveAnswer | CallEnded
           | CallAgentPhone | HangupAgentPhone | AgentStateChanged)
