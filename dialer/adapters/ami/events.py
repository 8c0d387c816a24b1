"""Typed AMI events, parsed once from :class:`~dialer.adapters.ami.protocol.Message`.

Only the events the engine acts on get their own class; everything else becomes
:class:`OtherEvent`, which keeps the raw message for logs and debugging. Field facts
come from the recorded traces (see ``../shared/asterisk/traces/README.md``):

* a failed ``OriginateResponse`` carries the dial string as ``Channel`` and
  ``Uniqueid: <unknown>``; we turn ``<unknown>`` into ``None``;
* ``DialBegin``/``DialEnd`` of an Originate carry only ``Dest*`` fields;
* busy and congestion hang the ``;1`` leg up with ``Cause: 0``: read the outcome from
  the OriginateResponse ``Reason`` or ``DialEnd`` ``DialStatus``, not from that Hangup.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from dialer.adapters.ami.protocol import Message

UNKNOWN = "<unknown>"


class AmiEventError(ValueError):
    """An event lacks a header it must have, or has a malformed value."""

    def __init__(self, event: str, header: str, problem: str) -> None:
        super().__init__(f"AMI event {event}: header {header!r} {problem}")
        self.event = event
        self.header = header


class OriginateReason(enum.IntEnum):
    """``Reason`` of an OriginateResponse (Asterisk's control-frame codes)."""

    FAILED = 0
    HUNG_UP = 1
    NO_ANSWER = 3
    ANSWERED = 4
    BUSY = 5
    CONGESTION = 8


@dataclass(frozen=True, slots=True)
class OriginateResponse:
    action_id: str
    success: bool
    reason: OriginateReason
    reason_code: int
    channel: str
    uniqueid: str | None
    context: str | None
    exten: str | None


@dataclass(frozen=True, slots=True)
class Newchannel:
    channel: str
    uniqueid: str
    linkedid: str
    state: int
    state_desc: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class Newstate:
    channel: str
    uniqueid: str
    linkedid: str
    state: int
    state_desc: str


@dataclass(frozen=True, slots=True)
class DialBegin:
    """``channel``/``uniqueid`` are ``None`` for an Originate (no calling channel)."""

    dest_channel: str
    dest_uniqueid: str
    dest_linkedid: str
    channel: str | None
    uniqueid: str | None
    dial_string: str


@dataclass(frozen=True, slots=True)
class DialEnd:
    dest_channel: str
    dest_uniqueid: str
    dest_linkedid: str
    channel: str | None
    uniqueid: str | None
    dial_status: str


@dataclass(frozen=True, slots=True)
class Hangup:
    channel: str
    uniqueid: str
    linkedid: str
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class VarSet:
    channel: str | None
    uniqueid: str | None
    linkedid: str | None
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class UserEvent:
    """A dialplan ``UserEvent()``; ``fields`` are the custom pairs, in order."""

    name: str
    channel: str | None
    uniqueid: str | None
    linkedid: str | None
    fields: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        low = key.lower()
        return next((v for k, v in self.fields if k.lower() == low), None)


@dataclass(frozen=True, slots=True)
class BridgeEnter:
    bridge_id: str
    channel: str
    uniqueid: str
    linkedid: str
    num_channels: int


@dataclass(frozen=True, slots=True)
class BridgeLeave:
    bridge_id: str
    channel: str
    uniqueid: str
    linkedid: str
    num_channels: int


@dataclass(frozen=True, slots=True)
class DtmfEnd:
    channel: str
    uniqueid: str
    digit: str
    direction: str


@dataclass(frozen=True, slots=True)
class CoreShowChannel:
    """One item of a CoreShowChannels list; ``duration`` in whole seconds."""

    channel: str
    uniqueid: str
    linkedid: str
    state: int
    state_desc: str
    context: str
    exten: str
    application: str
    application_data: str
    duration: int
    bridge_id: str | None


@dataclass(frozen=True, slots=True)
class FullyBooted:
    status: str


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """Any event without a class of its own; ``message`` is the raw message."""

    name: str
    message: Message


AmiEvent = (
    OriginateResponse | Newchannel | Newstate | DialBegin | DialEnd | Hangup | VarSet
    | UserEvent | BridgeEnter | BridgeLeave | DtmfEnd | CoreShowChannel | FullyBooted
    | OtherEvent
)


class _Fields:
    """Reads headers of one event, raising :class:`AmiEventError` on a gap."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.name = msg.event or "?"

    def req(self, key: str) -> str:
        value = self.msg.get(key)
        if value is None:
            raise AmiEventError(self.name, key, "is missing")
        return value

    def opt(self, key: str) -> str | None:
        value = self.msg.get(key)
        return None if value in (None, "", UNKNOWN) else value

    def int(self, key: str) -> int:
        raw = self.req(key)
        try:
            return int(raw)
        except ValueError:
            raise AmiEventError(self.name, key, f"is not an integer: {raw!r}") from None


def _duration(f: _Fields) -> int:
    raw = f.req("Duration")
    try:
        h, m, s = (int(p) for p in raw.split(":"))
    except ValueError:
        raise AmiEventError(f.name, "Duration", f"is not HH:MM:SS: {raw!r}") from None
    return h * 3600 + m * 60 + s


def _originate_response(f: _Fields) -> OriginateResponse:
    code = f.int("Reason")
    try:
        reason = OriginateReason(code)
    except ValueError:
        reason = OriginateReason.FAILED
    return OriginateResponse(
        action_id=f.req("ActionID"), success=f.req("Response") == "Success",
        reason=reason, reason_code=code, channel=f.req("Channel"),
        uniqueid=f.opt("Uniqueid"), context=f.opt("Context"), exten=f.opt("Exten"),
    )


def _newchannel(f: _Fields) -> Newchannel:
    return Newchannel(
        channel=f.req("Channel"), uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        state=f.int("ChannelState"), state_desc=f.req("ChannelStateDesc"),
        context=f.req("Context"), exten=f.req("Exten"),
    )


def _newstate(f: _Fields) -> Newstate:
    return Newstate(
        channel=f.req("Channel"), uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        state=f.int("ChannelState"), state_desc=f.req("ChannelStateDesc"),
    )


def _dial_begin(f: _Fields) -> DialBegin:
    return DialBegin(
        dest_channel=f.req("DestChannel"), dest_uniqueid=f.req("DestUniqueid"),
        dest_linkedid=f.req("DestLinkedid"), channel=f.opt("Channel"),
        uniqueid=f.opt("Uniqueid"), dial_string=f.msg.get("DialString") or "",
    )


def _dial_end(f: _Fields) -> DialEnd:
    return DialEnd(
        dest_channel=f.req("DestChannel"), dest_uniqueid=f.req("DestUniqueid"),
        dest_linkedid=f.req("DestLinkedid"), channel=f.opt("Channel"),
        uniqueid=f.opt("Uniqueid"), dial_status=f.req("DialStatus"),
    )


def _hangup(f: _Fields) -> Hangup:
    return Hangup(
        channel=f.req("Channel"), uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        cause=f.int("Cause"), cause_txt=f.msg.get("Cause-txt") or "",
    )


def _varset(f: _Fields) -> VarSet:
    return VarSet(
        channel=f.opt("Channel"), uniqueid=f.opt("Uniqueid"), linkedid=f.opt("Linkedid"),
        variable=f.req("Variable"), value=f.msg.get("Value") or "",
    )


def _user_event(f: _Fields) -> UserEvent:
    headers = f.msg.headers
    idx = next((i for i, (k, _) in enumerate(headers) if k.lower() == "userevent"), None)
    if idx is None:
        raise AmiEventError(f.name, "UserEvent", "is missing")
    return UserEvent(
        name=headers[idx][1], channel=f.opt("Channel"), uniqueid=f.opt("Uniqueid"),
        linkedid=f.opt("Linkedid"), fields=headers[idx + 1:],
    )


def _bridge_enter(f: _Fields) -> BridgeEnter:
    return BridgeEnter(
        bridge_id=f.req("BridgeUniqueid"), channel=f.req("Channel"),
        uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        num_channels=f.int("BridgeNumChannels"),
    )


def _bridge_leave(f: _Fields) -> BridgeLeave:
    return BridgeLeave(
        bridge_id=f.req("BridgeUniqueid"), channel=f.req("Channel"),
        uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        num_channels=f.int("BridgeNumChannels"),
    )


def _dtmf_end(f: _Fields) -> DtmfEnd:
    return DtmfEnd(
        channel=f.req("Channel"), uniqueid=f.req("Uniqueid"), digit=f.req("Digit"),
        direction=f.msg.get("Direction") or "",
    )


def _core_show_channel(f: _Fields) -> CoreShowChannel:
    return CoreShowChannel(
        channel=f.req("Channel"), uniqueid=f.req("Uniqueid"), linkedid=f.req("Linkedid"),
        state=f.int("ChannelState"), state_desc=f.req("ChannelStateDesc"),
        context=f.req("Context"), exten=f.req("Exten"),
        application=f.msg.get("Application") or "",
        application_data=f.msg.get("ApplicationData") or "",
        duration=_duration(f), bridge_id=f.opt("BridgeId"),
    )


def _fully_booted(f: _Fields) -> FullyBooted:
    return FullyBooted(status=f.msg.get("Status") or "")


_PARSERS: dict[str, Callable[[_Fields], AmiEvent]] = {
    "originateresponse": _originate_response,
    "newchannel": _newchannel,
    "newstate": _newstate,
    "dialbegin": _dial_begin,
    "dialend": _dial_end,
    "hangup": _hangup,
    "varset": _varset,
    "userevent": _user_event,
    "bridgeenter": _bridge_enter,
    "bridgeleave": _bridge_leave,
    "dtmfend": _dtmf_end,
    "coreshowchannel": _core_show_channel,
    "fullybooted": _fully_booted,
}


def parse_event(msg: Message) -> AmiEvent:
    """Turn one ``Event:`` message into its typed event.

    Raises :class:`AmiEventError` naming the event and header when a known event
    lacks a required header; unknown events become :class:`OtherEvent`.
    """
    name = msg.event
    if name is None:
        raise AmiEventError("?", "Event", "is missing (not an event)")
    parser = _PARSERS.get(name.lower())
    if parser is None:
        return OtherEvent(name=name, message=msg)
    return parser(_Fields(msg))
