"""What happened: frozen events the engine's core reacts to.

Adapters translate AMI, ARI and FastAGI traffic into these once; the core never sees
the wire. Every call event names its attempt by the attempt's UUID (a string), which
is also the channel id the engine chose when it originated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DialFailure(StrEnum):
    """Why an originate ended without an answer (OriginateResponse Reason / dialstatus)."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    NOT_SENT = "canceled"  # never reached Asterisk: the lead is not charged an attempt


class AmdStatus(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"


# ------------------------------------------------------------------ call events

@dataclass(frozen=True, slots=True)
class OriginateFailed:
    attempt_id: str
    failure: DialFailure


@dataclass(frozen=True, slots=True)
class CallAnswered:
    attempt_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class AmdDetected:
    """AMD's verdict, with the call now under the engine's control (in Stasis)."""

    attempt_id: str
    status: AmdStatus
    cause: str = ""


@dataclass(frozen=True, slots=True)
class BridgeJoined:
    attempt_id: str


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    attempt_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    attempt_id: str
    playback_id: str


@dataclass(frozen=True, slots=True)
class CallHungUp:
    attempt_id: str
    cause: int = 16
    cause_txt: str = "Normal Clearing"


@dataclass(frozen=True, slots=True)
class TimerFired:
    attempt_id: str
    name: str


CallEvent = (OriginateFailed | CallAnswered | AmdDetected | BridgeJoined | DtmfReceived
             | PlaybackFinished | CallHungUp | TimerFired)


# ------------------------------------------------------------------ agent events

@dataclass(frozen=True, slots=True)
class AgentLogin:
    """``dialed_in``: the agent called in from the softphone (the login extension), so
    the engine must not call the phone; the call itself becomes the session."""

    agent: str
    endpoint: str
    dialed_in: bool = False


@dataclass(frozen=True, slots=True)
class AgentPhoneUp:
    """The agent's softphone answered the login call (or dialled in): it waits in its
    bridge. ``channel`` is the phone's channel id."""

    agent: str
    channel: str = ""


@dataclass(frozen=True, slots=True)
class AgentReady:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentPause:
    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentLogout:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentPhoneDown:
    """The agent hung up the softphone: log them out cleanly."""

    agent: str


@dataclass(frozen=True, slots=True)
class AgentDisposition:
    agent: str
    code: str


AgentEvent = (AgentLogin | AgentPhoneUp | AgentReady | AgentPause | AgentLogout
              | AgentPhoneDown | AgentDisposition)
