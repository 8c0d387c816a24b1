"""AMI actions: an immutable :class:`Action` and builders for the ones the engine sends.

Builders validate what they are given, so a bad value fails here with a message that
names it, never as a half-understood action on the wire. ``Originate`` is always
``Async: true`` (a synchronous Originate blocks the AMI session until the call ends and
reports only ``Originate failed``), and carries ids derived from the attempt UUID.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from dialer.adapters.ami.protocol import encode

ATTEMPT_VARIABLE = "DIALER_ATTEMPT"
SECRET_HEADERS = frozenset({"secret", "key"})
LIST_ACTIONS = frozenset({"coreshowchannels", "status", "bridgelist", "bridgeinfo"})
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ActionError(ValueError):
    """An action could not be built from the given values."""


@dataclass(frozen=True, slots=True)
class Action:
    """One AMI action. ``action_id`` is set by builders that need a fixed id
    (Originate); otherwise the client assigns one when it sends."""

    name: str
    headers: tuple[tuple[str, str], ...] = ()
    action_id: str | None = None

    def __post_init__(self) -> None:
        for key, value in (("Action", self.name), *self.headers):
            if "\r" in value or "\n" in value or ":" in key or not key:
                raise ActionError(f"action {self.name}: header {key!r} has a line break "
                                  "or a bad name")

    @property
    def is_list(self) -> bool:
        """Answered by ``EventList: start``, items, then ``EventList: Complete``."""
        return self.name.lower() in LIST_ACTIONS

    def to_bytes(self, action_id: str) -> bytes:
        return encode((("Action", self.name), *self.headers, ("ActionID", action_id)))

    def redacted(self) -> dict[str, str]:
        """Headers for logs, with secrets masked."""
        out = {"Action": self.name}
        for k, v in self.headers:
            out[k] = "***" if k.lower() in SECRET_HEADERS else v
        return out


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    """What to dial for one attempt. Exactly one of ``context``/``exten`` or
    ``application`` must be given."""

    attempt_id: uuid.UUID
    channel: str
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    application: str | None = None
    data: str | None = None
    caller_id: str | None = None
    timeout_ms: int = 30_000
    variables: Mapping[str, str] = field(default_factory=dict)
    codecs: str | None = None


def channel_id(attempt_id: uuid.UUID) -> str:
    """Uniqueid of the originated ``;1`` channel (also the ARI channelId)."""
    return str(attempt_id)


def other_channel_id(attempt_id: uuid.UUID) -> str:
    """Uniqueid of the ``;2`` Local half, Asterisk's own default form."""
    return f"{attempt_id};2"


def originate_action_id(attempt_id: uuid.UUID) -> str:
    return f"orig-{attempt_id}"


def attempt_from_action_id(action_id: str) -> uuid.UUID | None:
    """The attempt UUID of an Originate ActionID, or ``None`` for other ids."""
    if not action_id.startswith("orig-"):
        return None
    try:
        return uuid.UUID(action_id[5:])
    except ValueError:
        return None


def _check_variables(variables: Mapping[str, str]) -> list[tuple[str, str]]:
    pairs = []
    for name, value in variables.items():
        if not _VAR_NAME.match(name):
            raise ActionError(f"originate: variable name {name!r} is not [A-Za-z_][A-Za-z0-9_]*")
        if "," in value:
            raise ActionError(f"originate: variable {name} value contains ',' "
                              "(Asterisk would split it)")
        if name == ATTEMPT_VARIABLE:
            raise ActionError(f"originate: {ATTEMPT_VARIABLE} is set by the dialer itself")
        pairs.append(("Variable", f"{name}={value}"))
    return pairs


def _target(req: OriginateRequest) -> list[tuple[str, str]]:
    if req.application is not None:
        if req.context is not None or req.exten is not None:
            raise ActionError("originate: give either application or context/exten, not both")
        return [("Application", req.application), ("Data", req.data or "")]
    if req.context is None or req.exten is None:
        raise ActionError("originate: context and exten are required without application")
    return [("Context", req.context), ("Exten", req.exten), ("Priority", str(req.priority))]


def originate(req: OriginateRequest) -> Action:
    """An ``Async`` Originate whose ids all derive from ``req.attempt_id``."""
    if not req.channel:
        raise ActionError("originate: channel (dial string) is empty")
    if req.timeout_ms <= 0:
        raise ActionError(f"originate: timeout_ms must be positive, got {req.timeout_ms}")
    headers = [("Channel", req.channel), *_target(req)]
    if req.caller_id:
        headers.append(("CallerID", req.caller_id))
    headers += [("Timeout", str(req.timeout_ms)), ("Async", "true"),
                ("ChannelId", channel_id(req.attempt_id)),
                ("OtherChannelId", other_channel_id(req.attempt_id)),
                ("Variable", f"{ATTEMPT_VARIABLE}={req.attempt_id}"),
                *_check_variables(req.variables)]
    if req.codecs:
        headers.append(("Codecs", req.codecs))
    return Action("Originate", tuple(headers), originate_action_id(req.attempt_id))


def login_plain(username: str, secret: str) -> Action:
    return Action("Login", (("Username", username), ("Secret", secret)))


def challenge() -> Action:
    return Action("Challenge", (("AuthType", "MD5"),))


def md5_key(challenge_value: str, secret: str) -> str:
    return hashlib.md5((challenge_value + secret).encode(), usedforsecurity=False).hexdigest()


def login_md5(username: str, challenge_value: str, secret: str) -> Action:
    key = md5_key(challenge_value, secret)
    return Action("Login", (("AuthType", "MD5"), ("Username", username), ("Key", key)))


def ping() -> Action:
    return Action("Ping")


def logoff() -> Action:
    return Action("Logoff")


def core_show_channels() -> Action:
    return Action("CoreShowChannels")


def status(channel: str | None = None) -> Action:
    return Action("Status", (("Channel", channel),) if channel else ())


def bridge_list() -> Action:
    return Action("BridgeList")


def hangup(channel: str, cause: int | None = None) -> Action:
    extra = (("Cause", str(cause)),) if cause is not None else ()
    return Action("Hangup", (("Channel", channel), *extra))


def getvar(channel: str, variable: str) -> Action:
    return Action("Getvar", (("Channel", channel), ("Variable", variable)))


def setvar(channel: str, variable: str, value: str) -> Action:
    return Action("Setvar", (("Channel", channel), ("Variable", variable), ("Value", value)))


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> Action:
    return Action("Redirect", (("Channel", channel), ("Context", context),
                               ("Exten", exten), ("Priority", str(priority))))


def bridge(channel1: str, channel2: str, tone: bool = False) -> Action:
    return Action("Bridge", (("Channel1", channel1), ("Channel2", channel2),
                             ("Tone", "yes" if tone else "no")))
