"""ARI REST resources, second part: bridges and playbacks (see :mod:`ari_rest`)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from dialer.sim.ari_events import Playback, bridge_json
from dialer.sim.channels import UNKNOWN, Bridge, Channel
from dialer.sim.sounds import sound_seconds

if TYPE_CHECKING:
    from dialer.sim.ari import AriServer
    from dialer.sim.parties import Parties

from dialer.sim.ari import error, reply

BRIDGE_TYPES = ("mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single")


class BridgeRoutes:
    """Bridge and playback handlers; mixed into :class:`dialer.sim.ari_rest.AriRest`."""

    server: AriServer
    pbx: Parties
    playbacks: dict[str, Playback]

    def _find(self, cid: str) -> Channel | None:
        raise NotImplementedError

    def _stasis(self, cid: str, media: bool = True) -> Channel | web.Response:
        raise NotImplementedError

    # ---- bridges --------------------------------------------------------------------

    async def bridges(self, request: web.Request) -> web.Response:
        return reply(200, [bridge_json(b) for b in self.pbx.bridges.values()])

    async def bridge(self, request: web.Request, bid: str) -> web.Response:
        b = self.pbx.bridges.get(bid)
        if b is None:
            return error(404, "Bridge not found", "Not Found")
        return reply(200, bridge_json(b))

    async def create_bridge(self, request: web.Request, bid: str | None = None) -> web.Response:
        kinds = [k for k in (request.query.get("type") or "mixing").split(",") if k]
        if any(k not in BRIDGE_TYPES for k in kinds):
            return error(500, "Unable to create bridge. Possible duplicate bridge id '(null)'",
                         "Internal Error")
        bid = bid or request.query.get("bridgeId") or str(uuid.uuid4())
        if bid in self.pbx.bridges:
            return error(409, f"Bridge with id '{bid}' already exists", "Conflict")
        b = self.pbx.create_bridge(bridge_id=bid, name=request.query.get("name", ""),
                                   bridge_type=kinds[0])
        return reply(200, bridge_json(b))

    async def destroy_bridge(self, request: web.Request, bid: str) -> web.Response:
        b = self.pbx.bridges.get(bid)
        if b is None:
            return error(404, "Bridge not found", "Not found")
        self.pbx.destroy_bridge(b)
        return reply(204)

    def _bridge_and_channels(self, request: web.Request,
                             bid: str) -> tuple[Bridge, list[Channel]] | web.Response:
        b = self.pbx.bridges.get(bid)
        if b is None:
            return error(404, "Bridge not found", "Not Found")
        ids = [i for i in request.query.get("channel", "").split(",") if i]
        if not ids:
            return error(400, "Missing parameter channel", "Bad Request")
        chans = [self._find(i) for i in ids]
        if any(c is None for c in chans):
            return error(400, "Channel not found", "Bad Request")
        found = [c for c in chans if c is not None]
        if any(c.stasis_app is None for c in found):
            return error(422, "Channel not in Stasis application", "Unprocessable Entity")
        return b, found

    async def add_channel(self, request: web.Request, bid: str) -> web.Response:
        got = self._bridge_and_channels(request, bid)
        if isinstance(got, web.Response):
            return got
        b, chans = got
        for ch in chans:
            b.ari_app = b.ari_app or ch.stasis_app  # the app now follows this bridge
            self.pbx.enter_bridge(b, ch)
            if len(b.channels) == 2:
                self.pbx.set_bridgepeers(b)
                self.pbx.exchange_connected_line(*b.channels)
        return reply(204)

    async def remove_channel(self, request: web.Request, bid: str) -> web.Response:
        got = self._bridge_and_channels(request, bid)
        if isinstance(got, web.Response):
            return got
        b, chans = got
        if any(c.bridge is not b for c in chans):
            return error(422, "Channel not in this bridge", "Unprocessable Entity")
        for ch in chans:
            self.pbx.leave_bridge(ch)
        return reply(204)

    # ---- playbacks ------------------------------------------------------------------

    async def play_channel(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid)
        if isinstance(ch, web.Response):
            return ch
        return self._play(request, ch, f"channel:{cid}", ch.stasis_app or "")

    async def play_bridge(self, request: web.Request, bid: str) -> web.Response:
        b = self.pbx.bridges.get(bid)
        if b is None:
            return error(404, "Bridge not found", "Not Found")
        if len(b.channels) == 1:  # an Announcer channel joins to play into the bridge
            ch = b.channels[0]
            self.pbx.setvar(ch, "BRIDGEPEER", f"Announcer/ARI-{self.pbx.new_seq()};2")
            self.pbx.connected_line(ch, UNKNOWN, UNKNOWN)
        return self._play(request, b, f"bridge:{bid}", b.ari_app or "")

    def _play(self, request: web.Request, target: Channel | Bridge, uri: str,
              app: str) -> web.Response:
        media = [m for v in request.query.getall("media", []) for m in v.split(",") if m]
        if not media:
            return error(400, "Missing parameter media", "Bad Request")
        pid = request.query.get("playbackId") or str(uuid.uuid4())
        pb = Playback(pid, media, uri, target, app=app)
        self.playbacks[pid] = pb
        heard = [target] if isinstance(target, Channel) else target.channels
        self.pbx.record.add("play", target=uri, media=media, playback=pid, via="ari",
                            heard_by=[c.ari_id for c in heard])
        body = pb.json()
        self._start(pb)
        return reply(201, body, "Created")

    def _start(self, pb: Playback) -> None:
        pb.state = "playing"
        self.server.fanout.playback("PlaybackStarted", pb)
        name = pb.media[pb.index].split(":", 1)[-1]
        secs = sound_seconds(name) or 0.0
        pb.timer = self.pbx.later(None, secs, lambda: self._next(pb))

    def _next(self, pb: Playback) -> None:
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self.server.fanout.playback("PlaybackContinuing", pb)
            pb.index += 1
            self._start(pb)
            return
        self._finish(pb)
        if isinstance(pb.target, Channel):
            self.pbx.heard_message(pb.target)
        else:
            for ch in list(pb.target.channels):
                self.pbx.heard_message(ch)

    def _finish(self, pb: Playback) -> None:
        if self.playbacks.pop(pb.id, None) is None:
            return
        if pb.timer is not None:
            pb.timer.cancel()
        pb.state = "done"
        self.server.fanout.playback("PlaybackFinished", pb)

    async def playback(self, request: web.Request, pid: str) -> web.Response:
        pb = self.playbacks.get(pid)
        if pb is None:
            return error(404, "Playback not found", "Not Found")
        return reply(200, pb.json())

    async def stop_playback(self, request: web.Request, pid: str) -> web.Response:
        pb = self.playbacks.get(pid)
        if pb is None:
            return error(404, "Playback not found", "Not Found")
        self._finish(pb)
        return reply(204)
