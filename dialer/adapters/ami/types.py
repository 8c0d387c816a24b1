"""AMI client settings, replies and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dialer.adapters.ami.events import AmiEvent
from dialer.adapters.ami.protocol import Message


class AmiError(Exception):
    """Base of every AMI client error."""


class AmiConnectionLost(AmiError):
    """The connection dropped before the reply came; the action's fate is unknown."""


class AmiPingTimeout(AmiConnectionLost):
    """A Ping went unanswered: the connection is treated as dead."""


class AmiNotConnected(AmiError):
    """No logged-in connection right now; nothing was sent."""


class AmiLoginError(AmiError):
    """Asterisk refused the login (wrong user or secret). Not retried."""


class AmiTimeout(AmiError):
    """No reply within the request timeout; the action may or may not have run."""


class AmiDuplicateOriginate(AmiError):
    """This client already sent an Originate for that attempt; nothing was sent."""


@dataclass(frozen=True, slots=True)
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "dialer"
    secret: str = field(default="", repr=False)
    auth: Literal["plain", "md5"] = "md5"
    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    request_timeout: float = 10.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True, slots=True)
class Response:
    """The reply to one action; ``items`` holds a list action's typed item events."""

    action: str
    action_id: str
    success: bool
    status: str
    message: str
    raw: Message
    items: tuple[AmiEvent, ...] = ()

    def get(self, key: str) -> str | None:
        return self.raw.get(key)
