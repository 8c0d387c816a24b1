"""The call's data: its states, the campaign's policy for it, the call itself, and the
engine-internal events. The machine is in `call.py`, its actions in `call_actions.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from dialer.core import commands as c


class CallState(StrEnum):
    DIALING = "dialing"
    ANSWERED = "answered"          # waiting for AMD's verdict
    CONNECTING = "connecting"      # a live answer waiting for an agent (2 s deadline)
    BRIDGING = "bridging"          # an agent was chosen; joining the agent's bridge
    BRIDGED = "bridged"
    SAFE_HARBOR = "safe_harbor"    # abandoned: the safe-harbor message plays
    MACHINE_WAIT = "machine_wait"  # waiting for the end of the greeting / the beep
    MACHINE_MESSAGE = "machine_message"
    BROADCAST = "broadcast"
    OPT_OUT = "opt_out"            # the opt-out confirmation plays
    HANGING_UP = "hanging_up"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """What a campaign decides about a call once it is answered."""

    campaign: str
    connect_deadline: float = 2.0
    machine_action: str = "hangup"     # hangup | message
    broadcast: bool = False
    safe_harbor: str = "dialer/safe-harbor"
    machine_message: str | None = None
    broadcast_message: str | None = None
    optout_confirm: str = "dialer/optout-confirmed"
    optout_key: str = "9"
    press1_key: str | None = None
    amd_timeout: float = 8.0
    beep_wait: float = 12.0
    optout_wait: float = 3.0


@dataclass(frozen=True, slots=True)
class Call:
    attempt_id: str
    phone: int
    policy: CallPolicy
    state: CallState = CallState.DIALING
    outcome: str | None = None
    agent: str | None = None
    live: bool = False
    abandoned: bool = False
    answered_at: float | None = None
    live_at: float | None = None
    plays: int = 0
    playing: str | None = None


Action = Callable[[Call, object, float], tuple[Call, list[c.Command]]]
TIMERS = ("dial_timeout", "amd_timeout", "connect_deadline", "beep", "optout_wait")


@dataclass(frozen=True, slots=True)
class AgentFound:
    """Engine-internal: an agent was chosen for a waiting live answer."""

    attempt_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class GreetingEnded:
    """The machine's greeting ended (talk detection); leave the message now."""

    attempt_id: str
