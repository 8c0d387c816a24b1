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
    LOST = "lost"          # the channel vanished while dialing (an Asterisk restart)


class AmdStatus(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"


# ------------------------------------------------------------------ call events

@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """``cause``: the Q.850 cause when Asterisk told it (0: derive it from ``failure``)."""

    attempt_id: str
    failure: DialFailure
    cause: int = 0
    cause_txt: str = ""


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
class BridgeFailed:
    """Asterisk refused to put the call into its agent's holding bridge (the bridge or
    the agent's phone is gone)."""

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
class CallVanished:
    """The call's channel is gone from Asterisk and no word of its end ever came (an
    Asterisk restart, a lost connection): its end is read the safe way. ``abandoned``:
    the dialplan noted that a person answered and nobody was there."""

    attempt_id: str
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class TimerFired:
    attempt_id: str
    name: str


CallEvent = (OriginateFailed | CallAnswered | AmdDetected | BridgeJoined | BridgeFailed
             | DtmfReceived | PlaybackFinished | CallHungUp | CallVanished | TimerFired)


# ------------------------------------------------------------------ agent events

@dataclass(frozen=True, slots=True)
class AgentLogin:
    """``dialed_in``: the agent called in from the softphone (the login extension), so
    the engine must not call the phone; the call itself becomes the session.
    ``campaign``: the one campaign the agent serves (None: any, in tests of the core)."""

    agent: str
    endpoint: str
    dialed_in: bool = False
    campaign: str | None = None


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
    """The agent's phone channel ended. Unless Asterisk itself goes away within the
    grace that follows (a restart hangs every channel up), the agent hung up and is
    logged out. ``channel``: the phone channel that ended (empty: the agent's)."""

    agent: str
    channel: str = ""


@dataclass(frozen=True, slots=True)
class AgentPhoneLost:
    """The agent's phone or holding bridge is missing in Asterisk (found by
    reconciliation, or a bridge refused a call): the engine calls the phone again."""

    agent: str


@dataclass(frozen=True, slots=True)
class AgentPhoneFailed:
    """Calling the agent's phone failed; reconciliation tries again later."""

    agent: str


@dataclass(frozen=True, slots=True)
class TelephonyLost:
    """The connection to Asterisk dropped: phones that just went down were most likely
    taken by Asterisk, not hung up by their agents."""


@dataclass(frozen=True, slots=True)
class AgentDisposition:
    agent: str
    code: str


AgentEvent = (AgentLogin | AgentPhoneUp | AgentReady | AgentPause | AgentLogout
              | AgentPhoneDown | AgentPhoneLost | AgentPhoneFailed | AgentDisposition)
