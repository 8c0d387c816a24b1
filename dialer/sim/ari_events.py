"""ARI JSON models and the event fan-out to WebSocket apps.

The shapes follow Asterisk's own models (``ari-api-docs``: Channel, Bridge, Playback and
the events). An app receives the events of channels it originated (both Local halves),
of channels while they are in its Stasis application, and of its bridges.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialer.sim.channels import ARI_STATE, CAUSE_TXT, UNKNOWN, Bridge, Channel

ASTERISK_ID = "02:fc:00:00:00:01"
Json = dict[str, Any]
Send = Callable[[str], None]


def ari_time(t: float | None = None) -> str:
    t = time.time() if t is None else t
    ms = int((t % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}+0000"


def _party(num: str, name: str) -> Json:
    return {"name": "" if name == UNKNOWN else name, "number": "" if num == UNKNOWN else num}


def channel_json(ch: Channel) -> Json:
    return {
        "id": ch.ari_id, "name": ch.name, "state": ARI_STATE.get(ch.state, "Unknown"),
        "protocol_id": "", "caller": _party(ch.cid_num, ch.cid_name),
        "connected": _party(ch.conn_num, ch.conn_name), "accountcode": "",
        "dialplan": {"context": ch.context, "exten": ch.exten, "priority": ch.priority,
                     "app_name": ch.application, "app_data": ch.app_data},
        "creationtime": ari_time(ch.created), "language": "en",
    }


def bridge_json(b: Bridge) -> Json:
    return {"id": b.uniqueid, "technology": b.technology, "bridge_type": b.bridge_type,
            "bridge_class": "stasis", "creator": "Stasis", "name": b.name,
            "channels": [c.ari_id for c in reversed(b.channels)],
            "creationtime": ari_time(b.created),
            "video_mode": "talker"}


@dataclass
class Playback:
    id: str
    media: list[str]
    target_uri: str
    target: Channel | Bridge
    index: int = 0
    state: str = "queued"
    app: str = ""
    timer: Any = None

    def json(self) -> Json:
        out: Json = {"id": self.id, "media_uri": self.media[self.index]}
        if self.index + 1 < len(self.media):
            out["next_media_uri"] = self.media[self.index + 1]
        out.update({"target_uri": self.target_uri, "language": "en", "state": self.state})
        return out


@dataclass
class AppSockets:
    """The WebSocket senders of one Stasis application."""

    senders: list[Send] = field(default_factory=list)


class AriFanout:
    """Turns PBX notifications into ARI events for the subscribed apps."""

    def __init__(self) -> None:
        self.apps: dict[str, AppSockets] = {}
        self.events_sent = 0

    def send(self, app: str, event: Json) -> None:
        sockets = self.apps.get(app)
        if sockets is None or not sockets.senders:
            return
        event["asterisk_id"] = ASTERISK_ID
        event["application"] = app
        text = json.dumps(event, separators=(",", ":"))
        self.events_sent += 1
        for send in list(sockets.senders):
            send(text)

    def apps_of(self, ch: Channel) -> set[str]:
        apps = set(ch.ari_apps)
        if ch.stasis_app:
            apps.add(ch.stasis_app)
        return apps

    def channel_event(self, ch: Channel, kind: str, extra: Json | None = None,
                      head: Json | None = None) -> None:
        for app in self.apps_of(ch):
            event: Json = dict(head or {})
            event.update({"type": kind, "timestamp": ari_time()})
            event.update(extra or {})
            event["channel"] = channel_json(ch)
            self.send(app, event)

    # ---- PBX observer ---------------------------------------------------------------

    def __call__(self, kind: str, p: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + kind, None)
        if handler is not None:
            handler(**p)

    def on_state(self, channel: Channel, **_: Any) -> None:
        self.channel_event(channel, "ChannelStateChange")

    def on_varset(self, channel: Channel, headers: dict[str, str], **_: Any) -> None:
        head = {"variable": headers.get("Variable", ""), "value": headers.get("Value", "")}
        self.channel_event(channel, "ChannelVarset", head=head)

    def on_callerid(self, channel: Channel, **_: Any) -> None:
        unknown = channel.cid_num == UNKNOWN
        self.channel_event(channel, "ChannelCallerId", {
            "caller_presentation": 67 if unknown else 0,
            "caller_presentation_txt": "Number Unavailable" if unknown
            else "Presentation Allowed, Not Screened"})

    def on_connected(self, channel: Channel, **_: Any) -> None:
        self.channel_event(channel, "ChannelConnectedLine")

    def on_hangup_request(self, channel: Channel, event: str, headers: dict[str, str],
                          **_: Any) -> None:
        head: Json = {"cause": int(headers.get("Cause", "16") or 16)}
        if event == "SoftHangupRequest":
            head["soft"] = True
        self.channel_event(channel, "ChannelHangupRequest", head=head)

    def on_dial(self, channel: Channel, dialstatus: str, **_: Any) -> None:
        for app in self.apps_of(channel):
            self.send(app, {"type": "Dial", "timestamp": ari_time(), "dialstatus": dialstatus,
                            "forward": "", "dialstring": channel.dialstring,
                            "peer": channel_json(channel)})

    def on_stasis_start(self, channel: Channel, app: str, args: list[str], **_: Any) -> None:
        self.send(app, {"type": "StasisStart", "timestamp": ari_time(), "args": list(args),
                        "channel": channel_json(channel)})

    def stasis_end(self, channel: Channel) -> None:
        app = channel.stasis_app
        if app:
            self.send(app, {"type": "StasisEnd", "timestamp": ari_time(),
                            "channel": channel_json(channel)})

    def on_destroyed(self, channel: Channel, cause: int, **_: Any) -> None:
        for app in channel.ari_apps:
            self.send(app, {"type": "ChannelDestroyed", "timestamp": ari_time(),
                            "cause": cause, "cause_txt": CAUSE_TXT.get(cause, "Unknown"),
                            "channel": channel_json(channel)})

    def on_talking(self, channel: Channel, started: bool, duration_ms: int = 0,
                   **_: Any) -> None:
        if started:
            self.channel_event(channel, "ChannelTalkingStarted")
        else:
            self.channel_event(channel, "ChannelTalkingFinished",
                               head={"duration": duration_ms})

    def on_dtmf(self, channel: Channel, digit: str, duration_ms: int, **_: Any) -> None:
        self.channel_event(channel, "ChannelDtmfReceived",
                           {"digit": digit, "duration_ms": duration_ms})

    def _bridge_apps(self, b: Bridge, ch: Channel | None) -> set[str]:
        apps = {b.ari_app} if b.ari_app else set()
        return apps | (self.apps_of(ch) if ch is not None else set())

    def on_entered_bridge(self, bridge: Bridge, channel: Channel, **_: Any) -> None:
        self._bridge_event("ChannelEnteredBridge", bridge, channel)

    def on_left_bridge(self, bridge: Bridge, channel: Channel, **_: Any) -> None:
        self._bridge_event("ChannelLeftBridge", bridge, channel)

    def _bridge_event(self, kind: str, b: Bridge, ch: Channel) -> None:
        for app in self._bridge_apps(b, ch):
            self.send(app, {"type": kind, "timestamp": ari_time(), "bridge": bridge_json(b),
                            "channel": channel_json(ch)})

    def on_bridge_destroyed(self, bridge: Bridge, **_: Any) -> None:
        for app in self._bridge_apps(bridge, None):
            self.send(app, {"type": "BridgeDestroyed", "timestamp": ari_time(),
                            "bridge": bridge_json(bridge)})

    def playback(self, kind: str, pb: Playback) -> None:
        if pb.app:
            self.send(pb.app, {"type": kind, "timestamp": ari_time(), "playback": pb.json()})
