"""Typed ARI WebSocket events, parsed once from each JSON frame.

Events can arrive BEFORE the HTTP reply to the request that caused them (the traces
show ChannelVarset and Dial ahead of ``POST /channels`` returning). Every channel event
therefore exposes ``channel.id``, which is the ``channelId`` the engine chose itself, so
events are matched to attempts by id, never by "the last request".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dialer.adapters.ari.models import (
    AriModelError,
    Bridge,
    Channel,
    Obj,
    Playback,
    bridge_from,
    channel_from,
    playback_from,
)


@dataclass(frozen=True, slots=True)
class StasisStart:
    channel: Channel
    args: tuple[str, ...]
    replace_channel: Channel | None


@dataclass(frozen=True, slots=True)
class StasisEnd:
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelStateChange:
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelDtmfReceived:
    channel: Channel
    digit: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest:
    """``cause`` 32 with ``soft`` is the soft-hangup flag of a DELETE, not a Q.850 cause."""

    channel: Channel
    cause: int | None
    soft: bool


@dataclass(frozen=True, slots=True)
class ChannelDestroyed:
    channel: Channel
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class Dial:
    """``dialstatus`` is empty at the start, then RINGING, ANSWER, BUSY, CONGESTION..."""

    peer: Channel
    caller: Channel | None
    dialstatus: str
    dialstring: str


@dataclass(frozen=True, slots=True)
class PlaybackStarted:
    playback: Playback


@dataclass(frozen=True, slots=True)
class PlaybackContinuing:
    playback: Playback


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    playback: Playback


@dataclass(frozen=True, slots=True)
class ChannelEnteredBridge:
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge:
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True)
class BridgeDestroyed:
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class ChannelVarset:
    """``channel`` is ``None`` for a global variable."""

    channel: Channel | None
    variable: str
    value: str


@dataclass(frozen=True, slots=True)
class ChannelTalkingStarted:
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelTalkingFinished:
    channel: Channel
    duration_ms: int


@dataclass(frozen=True, slots=True)
class OtherAriEvent:
    """An event type without a class of its own; ``data`` is the decoded JSON."""

    type: str
    data: Mapping[str, Any]


AriEvent = (
    StasisStart | StasisEnd | ChannelStateChange | ChannelDtmfReceived | ChannelHangupRequest
    | ChannelDestroyed | Dial | PlaybackStarted | PlaybackContinuing | PlaybackFinished
    | ChannelEnteredBridge | ChannelLeftBridge | BridgeDestroyed | ChannelVarset
    | ChannelTalkingStarted | ChannelTalkingFinished | OtherAriEvent
)


def _channel(o: Obj) -> Channel:
    return channel_from(o.obj("channel"))


def _opt_channel(o: Obj, key: str) -> Channel | None:
    sub = o.opt_obj(key)
    return None if sub is None else channel_from(sub)


def _stasis_start(o: Obj) -> StasisStart:
    return StasisStart(channel=_channel(o), args=o.texts("args"),
                       replace_channel=_opt_channel(o, "replace_channel"))


def _dtmf(o: Obj) -> ChannelDtmfReceived:
    return ChannelDtmfReceived(channel=_channel(o), digit=o.text("digit"),
                               duration_ms=o.opt_integer("duration_ms") or 0)


def _hangup_request(o: Obj) -> ChannelHangupRequest:
    return ChannelHangupRequest(channel=_channel(o), cause=o.opt_integer("cause"),
                                soft=o.flag("soft"))


def _destroyed(o: Obj) -> ChannelDestroyed:
    return ChannelDestroyed(channel=_channel(o), cause=o.integer("cause"),
                            cause_txt=o.opt_text("cause_txt"))


def _dial(o: Obj) -> Dial:
    return Dial(peer=channel_from(o.obj("peer")), caller=_opt_channel(o, "caller"),
                dialstatus=o.opt_text("dialstatus"), dialstring=o.opt_text("dialstring"))


def _varset(o: Obj) -> ChannelVarset:
    return ChannelVarset(channel=_opt_channel(o, "channel"), variable=o.text("variable"),
                         value=o.opt_text("value"))


def _playback(kind: type[PlaybackStarted | PlaybackContinuing | PlaybackFinished]
              ) -> Callable[[Obj], AriEvent]:
    return lambda o: kind(playback=playback_from(o.obj("playback")))


def _bridged(kind: type[ChannelEnteredBridge | ChannelLeftBridge]) -> Callable[[Obj], AriEvent]:
    return lambda o: kind(bridge=bridge_from(o.obj("bridge")), channel=_channel(o))


_PARSERS: dict[str, Callable[[Obj], AriEvent]] = {
    "StasisStart": _stasis_start,
    "StasisEnd": lambda o: StasisEnd(channel=_channel(o)),
    "ChannelStateChange": lambda o: ChannelStateChange(channel=_channel(o)),
    "ChannelDtmfReceived": _dtmf,
    "ChannelHangupRequest": _hangup_request,
    "ChannelDestroyed": _destroyed,
    "Dial": _dial,
    "PlaybackStarted": _playback(PlaybackStarted),
    "PlaybackContinuing": _playback(PlaybackContinuing),
    "PlaybackFinished": _playback(PlaybackFinished),
    "ChannelEnteredBridge": _bridged(ChannelEnteredBridge),
    "ChannelLeftBridge": _bridged(ChannelLeftBridge),
    "BridgeDestroyed": lambda o: BridgeDestroyed(bridge=bridge_from(o.obj("bridge"))),
    "ChannelVarset": _varset,
    "ChannelTalkingStarted": lambda o: ChannelTalkingStarted(channel=_channel(o)),
    "ChannelTalkingFinished": lambda o: ChannelTalkingFinished(
        channel=_channel(o), duration_ms=o.opt_integer("duration") or 0),
}


def parse_event(data: object) -> AriEvent:
    """One decoded event object -> its typed event (unknown types -> OtherAriEvent)."""
    top = Obj(data, "event")
    kind = top.text("type")
    parser = _PARSERS.get(kind)
    if parser is None:
        return OtherAriEvent(type=kind, data=top.data)
    return parser(Obj(top.data, kind))


def parse_frame(text: str | bytes) -> AriEvent:
    """One WebSocket text frame -> its typed event."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise AriModelError(f"event frame is not JSON: {exc}") from None
    return parse_event(data)


def channel_ids(event: AriEvent) -> tuple[str, ...]:
    """The channel ids an event concerns, for matching to attempts by id."""
    if isinstance(event, Dial):
        return (event.peer.id,) + ((event.caller.id,) if event.caller else ())
    channel = getattr(event, "channel", None)
    return (channel.id,) if isinstance(channel, Channel) else ()
