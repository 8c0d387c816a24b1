"""ARI REST resources: channels, bridges, playbacks, applications, asterisk.

Status codes and error bodies follow the recorded ``ari-40-errors`` catalogue.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from dialer.sim.ari_bridges import BridgeRoutes
from dialer.sim.ari_events import Playback, channel_json
from dialer.sim.channels import Channel
from dialer.sim.originate import OriginateRequest, parse_dial

if TYPE_CHECKING:
    from dialer.sim.ari import AriServer

from dialer.sim.ari import error, reply

HANGUP_REASONS = {"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19,
                  "timeout": 19, "rejected": 21, "unallocated": 1, "failure": 38,
                  "normal_unspecified": 31, "number_incomplete": 28, "codec_mismatch": 58,
                  "interworking": 127, "answered_elsewhere": 26}
# The formats Asterisk 22 knows without extra modules (main/codec_builtin.c): an
# originate's `formats` must name only these. The simulator ignores the choice.
FORMATS = frozenset({
    "codec2", "g723", "ulaw", "alaw", "gsm", "g726", "g726aal2", "adpcm", "slin", "slin12",
    "slin16", "slin24", "slin32", "slin44", "slin48", "slin96", "slin192", "lpc10", "g729",
    "speex", "speex16", "speex32", "ilbc", "g722", "siren7", "siren14", "g719", "opus",
    "jpeg", "png", "h261", "h263", "h263p", "h264", "h265", "mpeg4", "vp8", "vp9", "red",
    "t140", "t38", "none", "silk8", "silk12", "silk16", "silk24"})
CHANNEL_ID = r"(?P<cid>[^/]+)"
BRIDGE_ID = r"(?P<bid>[^/]+)"


def _param(request: web.Request, name: str, body: dict[str, Any]) -> str | None:
    value = request.query.get(name)
    if value is None and isinstance(body.get(name), str | int):
        value = str(body[name])
    return value


def unknown_format(formats: str) -> str | None:
    """The first name in a comma-separated `formats` that Asterisk does not know."""
    return next((f for f in (x.strip() for x in formats.split(",")) if f and f not in FORMATS),
                None)


def _number(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.text() or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class AriRest(BridgeRoutes):
    """The REST handlers, bound to one ARI server."""

    def __init__(self, server: AriServer) -> None:
        self.server = server
        self.pbx = server.pbx
        self.playbacks: dict[str, Playback] = {}
        self.pending: dict[Channel, OriginateRequest] = {}

    def table(self) -> list[tuple[str, dict[str, Any]]]:
        c, b = CHANNEL_ID, BRIDGE_ID
        return [
            ("/asterisk/info", {"GET": self.asterisk_info}),
            ("/asterisk/ping", {"GET": self.asterisk_ping}),
            ("/asterisk/variable", {"GET": self.get_global, "POST": self.set_global}),
            ("/applications", {"GET": self.applications}),
            ("/applications/(?P<name>[^/]+)", {"GET": self.application}),
            ("/endpoints", {"GET": self.empty_list}),
            ("/sounds", {"GET": self.empty_list}),
            ("/channels", {"GET": self.channels, "POST": self.originate}),
            ("/channels/create", {"POST": self.create}),
            (f"/channels/{c}", {"GET": self.channel, "DELETE": self.hangup,
                                "POST": self.originate}),
            (f"/channels/{c}/answer", {"POST": self.answer}),
            (f"/channels/{c}/ring", {"POST": self.media_noop, "DELETE": self.media_noop}),
            (f"/channels/{c}/(?:hold|moh|mute|silence)",
             {"POST": self.media_noop, "DELETE": self.media_noop}),
            (f"/channels/{c}/play", {"POST": self.play_channel}),
            (f"/channels/{c}/dtmf", {"POST": self.dtmf}),
            (f"/channels/{c}/variable", {"GET": self.get_var, "POST": self.set_var}),
            (f"/channels/{c}/dial", {"POST": self.dial}),
            (f"/channels/{c}/continue", {"POST": self.continue_}),
            (f"/channels/{c}/redirect", {"POST": self.redirect}),
            ("/bridges", {"GET": self.bridges, "POST": self.create_bridge}),
            (f"/bridges/{b}", {"GET": self.bridge, "DELETE": self.destroy_bridge,
                               "POST": self.create_bridge}),
            (f"/bridges/{b}/addChannel", {"POST": self.add_channel}),
            (f"/bridges/{b}/removeChannel", {"POST": self.remove_channel}),
            (f"/bridges/{b}/play", {"POST": self.play_bridge}),
            ("/playbacks/(?P<pid>[^/]+)", {"GET": self.playback, "DELETE": self.stop_playback}),
        ]

    # ---- asterisk, applications ---------------------------------------------------------

    async def asterisk_info(self, request: web.Request) -> web.Response:
        return reply(200, self.server.info())

    async def asterisk_ping(self, request: web.Request) -> web.Response:
        from dialer.sim.ari_events import ASTERISK_ID, ari_time

        return reply(200, {"ping": "pong", "timestamp": ari_time(), "asterisk_id": ASTERISK_ID})

    async def get_global(self, request: web.Request) -> web.Response:
        name = request.query.get("variable", "")
        if not name:
            return error(400, "Variable name is required", "Bad Request")
        return reply(200, {"value": self.pbx.globals.get(name, "")})

    async def set_global(self, request: web.Request) -> web.Response:
        name = request.query.get("variable", "")
        if not name:
            return error(400, "Variable name is required", "Bad Request")
        value = request.query.get("value")
        if value:
            self.pbx.globals[name] = value
        else:
            self.pbx.globals.pop(name, None)
        return reply(204)

    def _app_json(self, name: str) -> dict[str, Any]:
        chans = [c.ari_id for c in self.pbx.channels.values()
                 if name in c.ari_apps or c.stasis_app == name]
        bridges = [b.uniqueid for b in self.pbx.bridges.values() if b.ari_app == name]
        return {"name": name, "channel_ids": chans, "bridge_ids": bridges, "endpoint_ids": [],
                "device_names": [], "events_allowed": [], "events_disallowed": []}

    async def applications(self, request: web.Request) -> web.Response:
        return reply(200, [self._app_json(a) for a in sorted(self.pbx.ari_apps)])

    async def application(self, request: web.Request, name: str) -> web.Response:
        if name not in self.pbx.ari_apps:
            return error(404, "Application not found", "Not Found")
        return reply(200, self._app_json(name))

    async def empty_list(self, request: web.Request) -> web.Response:
        return reply(200, [])

    # ---- channels -------------------------------------------------------------------

    async def channels(self, request: web.Request) -> web.Response:
        return reply(200, [channel_json(c) for c in self.pbx.channels.values()])

    def _find(self, cid: str) -> Channel | None:
        ch = self.pbx.by_id.get(cid)
        return ch if ch is not None and not ch.gone else None

    async def channel(self, request: web.Request, cid: str) -> web.Response:
        ch = self._find(cid)
        if ch is None:
            return error(404, "Channel not found", "Not Found")
        return reply(200, channel_json(ch))

    async def originate(self, request: web.Request, cid: str | None = None) -> web.Response:
        return await self._originate(request, cid, dial_now=True)

    async def create(self, request: web.Request) -> web.Response:
        return await self._originate(request, None, dial_now=False)

    async def _originate(self, request: web.Request, cid: str | None,
                         dial_now: bool) -> web.Response:
        body = await _body(request)
        endpoint = _param(request, "endpoint", body)
        app = _param(request, "app", body) or ""
        exten = _param(request, "extension", body) or ""
        if not endpoint:
            return error(400, "Endpoint must be specified", "Bad Request")
        channel_id = cid or _param(request, "channelId", body) or ""
        other = _param(request, "otherChannelId", body) or ""
        req = self._request(request, body, endpoint, app, exten, channel_id, other)
        refusal = self._refusal(req, bool(app or exten or not dial_now),
                                _param(request, "formats", body) or "",
                                bool(_param(request, "originator", body)))
        if refusal is not None:
            self.pbx.refused(req, refusal[0])
            return refusal[1]
        req.created_only = not dial_now
        ch = self.pbx.originate(req, dial_now=False)
        if ch is None:
            return reply(500, {"error": "Allocation failed"}, "Internal Server Error")
        created = channel_json(ch)
        if ch.gone:
            return reply(200, created)
        if dial_now:
            self.pbx.dial(ch)
        elif app:
            self.pbx.enter_stasis(ch, app, req.app_args)
        return reply(200, created)

    def _refusal(self, req: OriginateRequest, routed: bool, formats: str, originator: bool
                 ) -> tuple[str, web.Response] | None:
        """Why Asterisk would refuse this originate (reason, reply), or None."""
        if not routed:
            return "no application or extension", error(
                400, "Application or extension must be specified", "Bad Request")
        if formats and originator:
            return "formats with originator", error(
                400, "Originator and formats can't both be specified", "Bad Request")
        if "/" not in req.dial:
            return "invalid endpoint", error(400, "Invalid endpoint specified", "Bad Request")
        unknown = unknown_format(formats)
        if unknown is not None:
            return "unknown format", error(
                400, f"Provided format ({unknown}) was not found", "Bad Request")
        if parse_dial(req.dial) is None:
            return "unknown technology", reply(
                500, {"error": "Allocation failed"}, "Internal Server Error")
        if any(i and i in self.pbx.by_id for i in (req.channel_id, req.other_channel_id)):
            return "channel id already exists", error(
                409, "Channel with given unique ID already exists", "Conflict")
        return None

    def _request(self, request: web.Request, body: dict[str, Any], endpoint: str, app: str,
                 exten: str, channel_id: str, other: str) -> OriginateRequest:
        variables = body.get("variables")
        pairs = [(str(k), str(v)) for k, v in variables.items()] \
            if isinstance(variables, dict) else []
        try:
            timeout = float(_param(request, "timeout", body) or 30)
        except ValueError:
            timeout = 30.0
        args = _param(request, "appArgs", body) or ""
        return OriginateRequest(
            dial=endpoint, context=_param(request, "context", body) or "default",
            exten=exten or "s", variables=pairs[::-1], timeout_s=timeout,
            callerid=_param(request, "callerId", body) or "", channel_id=channel_id,
            other_channel_id=other, app=app, app_args=args.split(",") if args else [],
            via="ari")

    def _stasis(self, cid: str, media: bool = True) -> Channel | web.Response:
        ch = self._find(cid)
        if ch is None:
            return error(404, "Channel not found", "Not Found")
        if ch.stasis_app is None:
            return error(409, "Channel not in Stasis application", "Conflict")
        if media and ch.state == 0:
            return error(412, "Channel in invalid state", "Precondition Failed")
        return ch

    async def hangup(self, request: web.Request, cid: str) -> web.Response:
        ch = self._find(cid)
        if ch is None:
            return error(404, "Channel not found", "Not Found")
        reason = request.query.get("reason") or "normal"
        code = request.query.get("reason_code")
        cause = int(code) if code and code.isdigit() else HANGUP_REASONS.get(reason)
        if cause is None:
            return error(400, "Invalid reason for hangup reason provided", "Invalid Reason")
        self.pbx.hangup(ch, cause, soft_cause=32)
        return reply(204)

    async def answer(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid)
        if isinstance(ch, web.Response):
            return ch
        self.pbx.set_state(ch, 6)
        return reply(204)

    async def media_noop(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid)
        return ch if isinstance(ch, web.Response) else reply(204)

    async def dtmf(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid)
        if isinstance(ch, web.Response):
            return ch
        digits = request.query.get("dtmf", "")
        if not digits:
            return error(400, "DTMF is required", "Bad Request")
        between = _number(request.query.get("between"), 100) / 1000
        duration = int(_number(request.query.get("duration"), 100))
        far = ch.peer or ch
        for i, digit in enumerate(digits):
            self._dtmf_later(far, between * (i + 1), digit, duration)
        return reply(204)

    def _dtmf_later(self, ch: Channel, delay: float, digit: str, duration: int) -> None:
        self.pbx.later(ch, delay, lambda: self.pbx.notify(
            "dtmf", channel=ch, digit=digit, duration_ms=duration))

    async def get_var(self, request: web.Request, cid: str) -> web.Response:
        ch = self._find(cid)
        if ch is None:
            return error(404, "Channel not found", "Not Found")
        name = request.query.get("variable", "")
        if not name:
            return error(400, "Variable name is required", "Bad Request")
        special = {"CHANNEL(state)": ch.state_desc, "CHANNEL": ch.name, "UNIQUEID": ch.uniqueid}
        value = special.get(name, ch.variables.get(name))
        if value is None:
            return error(404, "Provided variable was not found", "Not Found")
        return reply(200, {"value": value})

    async def set_var(self, request: web.Request, cid: str) -> web.Response:
        ch = self._find(cid)
        if ch is None:
            return error(404, "Channel not found", "Not Found")
        name = request.query.get("variable", "")
        if not name:
            return error(400, "Variable name is required", "Bad Request")
        self.pbx.setvar(ch, name, request.query.get("value", ""),
                        event="(" not in name)
        if name.upper() == "TALK_DETECT(SET)":
            self.pbx.talk_detect(ch)
        return reply(204)

    async def dial(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid, media=False)
        if isinstance(ch, web.Response):
            return ch
        if ch.state != 0 or ch not in self.pbx.undialed:
            return error(409, "Channel is not in the 'Down' state", "Conflict")
        self.pbx.dial(ch)
        return reply(204)

    async def continue_(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid, media=False)
        if isinstance(ch, web.Response):
            return ch
        self.server.fanout.stasis_end(ch)
        ch.stasis_app = None
        self.pbx.run_exten(ch, request.query.get("context") or ch.context,
                           request.query.get("extension") or ch.exten)
        return reply(204)

    async def redirect(self, request: web.Request, cid: str) -> web.Response:
        ch = self._stasis(cid, media=False)
        if isinstance(ch, web.Response):
            return ch
        endpoint = request.query.get("endpoint", "")
        if not endpoint:
            return error(400, "Required parameter 'endpoint' not provided", "Bad Request")
        tech, sep, _ = endpoint.partition("/")
        if not sep:
            return error(422, f"Endpoint parameter '{endpoint}' does not contain "
                         "tech/resource", "Unprocessable Entity")
        mine = ch.name.split("/")[0]
        if tech.lower() != mine.lower():
            return error(422, f"Endpoint technology '{tech}' does not match channel "
                         f"technology '{mine}'", "Unprocessable Entity")
        return reply(204)

    def channel_gone(self, ch: Channel) -> None:
        for pb in list(self.playbacks.values()):
            if pb.target is ch:
                self._finish(pb)
