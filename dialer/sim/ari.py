"""The ARI server of the simulated Asterisk (aiohttp): auth, routing, WebSocket events.

Every request goes through one handler so that unknown URLs answer Asterisk's own
``404 Resource not found`` and known URLs with the wrong method ``405 Invalid method``.
The resources live in :mod:`dialer.sim.ari_rest`. Paths under ``/_sim/`` go to the
simulator's control API (:mod:`dialer.sim.control`), which no stall or refusal holds up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from dialer.sim.ari_events import AppSockets, AriFanout, Json, ari_time
from dialer.sim.parties import Parties

if TYPE_CHECKING:
    from dialer.sim.control import SimControl

Handler = Callable[..., Awaitable[web.StreamResponse]]
NO_APP_PAGE = ("<html><head>\n<title>400 Bad Request</title>\n</head><body>\n"
               "<h1>Bad Request</h1>\n<p>Invalid application provided in URL.</p>\n"
               "<hr />\n</body></html>\n")


def reply(status: int, body: Any = None, reason: str | None = None) -> web.Response:
    if status == 204:
        return web.Response(status=204, reason=reason)
    return web.json_response(body, status=status, reason=reason)


def error(status: int, message: str, reason: str | None = None) -> web.Response:
    return reply(status, {"message": message}, reason)


class AriServer:
    """aiohttp application serving ``/ari/...`` for one simulated PBX."""

    def __init__(self, pbx: Parties, *, username: str = "dialer",
                 secret: str = "dialer-secret", control: SimControl | None = None) -> None:
        from dialer.sim.ari_rest import AriRest

        self.pbx = pbx
        self.control = control
        self.username, self.secret = username, secret
        self.fanout = AriFanout()
        pbx.observers.append(self.fanout)
        pbx.observers.append(self._lifecycle)
        self.rest = AriRest(self)
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile("^" + pattern + "$"), methods)
            for pattern, methods in self.rest.table()]
        self.sockets: dict[web.WebSocketResponse, asyncio.Transport | None] = {}
        self.ws_tasks: set[asyncio.Task[None]] = set()
        self.stall_until = 0.0
        self.refuse = False
        self.runner: web.AppRunner | None = None
        self.port = 0

    # ---- lifecycle ------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_address=True)
        await site.start()
        server = site._server  # the bound port when 0 was asked for
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def close(self) -> None:
        self.drop_websockets()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def drop_websockets(self) -> int:
        count = 0
        for transport in list(self.sockets.values()):
            if transport is not None:
                transport.abort()
                count += 1
        return count

    def _lifecycle(self, kind: str, p: dict[str, Any]) -> None:
        if kind == "before_destroy":
            ch = p["channel"]
            if ch.stasis_app:
                self.fanout.stasis_end(ch)
                ch.stasis_app = None
                self.pbx.setvar(ch, "STASISSTATUS", "SUCCESS")
            self.rest.channel_gone(ch)

    # ---- requests -------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if self.control is not None and request.path.startswith("/_sim/"):
            if not self.authorised(request):
                return error(401, "Authentication required", "Unauthorized")
            return await self.control.dispatch(request)
        if self.refuse and request.transport is not None:
            request.transport.abort()
            return web.Response(status=503)
        wait = self.stall_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        path = request.path
        if not path.startswith("/ari/"):
            return error(404, "Resource not found", "Not Found")
        path = path[4:]
        if path == "/events":
            return await self.websocket(request)
        if not self.authorised(request):
            return error(401, "Authentication required", "Unauthorized")
        return await self.route(request, path)

    async def route(self, request: web.Request, path: str) -> web.StreamResponse:
        for pattern, methods in self.routes:
            m = pattern.match(path)
            if m is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return error(405, "Invalid method", "Method Not Allowed")
            return await handler(request, **m.groupdict())
        return error(404, "Resource not found", "Not Found")

    def authorised(self, request: web.Request) -> bool:
        want = f"{self.username}:{self.secret}"
        key = request.query.get("api_key")
        if key is not None:
            return key == want
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            return base64.b64decode(header[6:].strip()).decode() == want
        except (ValueError, UnicodeDecodeError):
            return False

    # ---- WebSocket ------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.authorised(request):
            return error(401, "Authentication required", "Unauthorized")
        apps = [a for a in request.query.get("app", "").split(",") if a]
        if "app" not in request.query:
            return web.Response(status=400, text=NO_APP_PAGE, content_type="text/html")
        if not apps:
            return web.Response(status=400)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._join(apps, queue.put_nowait)
        self.sockets[ws] = request.transport
        writer = asyncio.get_running_loop().create_task(self._writer(ws, queue))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.sockets.pop(ws, None)
            self._leave(apps, queue.put_nowait)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
        return ws

    async def _writer(self, ws: web.WebSocketResponse, queue: asyncio.Queue[str]) -> None:
        while True:
            text = await queue.get()
            wait = self.stall_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await ws.send_str(text)

    def _join(self, apps: list[str], send: Callable[[str], None]) -> None:
        for app in apps:
            self.fanout.apps.setdefault(app, AppSockets()).senders.append(send)
            self.pbx.ari_apps.add(app)

    def _leave(self, apps: list[str], send: Callable[[str], None]) -> None:
        for app in apps:
            sockets = self.fanout.apps.get(app)
            if sockets is not None and send in sockets.senders:
                sockets.senders.remove(send)
            if sockets is not None and not sockets.senders:
                self.pbx.ari_apps.discard(app)

    def info(self) -> Json:
        return {
            "build": {"os": "Linux", "kernel": "6.18.44-fc-v857", "machine": "x86_64",
                      "options": "OPTIONAL_API", "date": "2026-11-28 10:39:13 UTC",
                      "user": "root"},
            "system": {"version": "22.10.1", "entity_id": "02:fc:00:00:00:01"},
            "config": {"name": "", "default_language": "en",
                       "setid": {"user": "", "group": ""}, "max_channels": 500},
            "status": {"startup_time": ari_time(self.pbx.started),
                       "last_reload_time": ari_time(self.pbx.started)},
        }
