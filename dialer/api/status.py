"""Live status: ``GET /api/status`` and the status WebSocket ``/api/status/ws``.

One :class:`StatusHub` task polls the engine once per interval while anybody listens and
hands the same serialized snapshot to every socket; a slow socket only ever holds the
newest snapshot. Messages are ``{"type": "status", "status": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from dialer.api.auth import WS_PROTOCOL
from dialer.api.context import caller, ok, plain, port
from dialer.api.ports import ControlPort

log = structlog.get_logger("dialer.api.status")
routes = web.RouteTableDef()


class StatusHub:
    def __init__(self, control: ControlPort, interval: float) -> None:
        self._port = control
        self.interval = interval
        self._queues: set[asyncio.Queue[str]] = set()
        self._listening = asyncio.Event()
        self.latest: str | None = None
        self.sockets: set[web.WebSocketResponse] = set()

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        if self.latest is not None:
            queue.put_nowait(self.latest)
        self._queues.add(queue)
        self._listening.set()
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            if not self._queues:
                self._listening.clear()

    async def run(self) -> None:
        """Poll and publish forever; a failed poll is logged and retried next interval."""
        while True:
            await self._listening.wait()
            await self.publish_once()
            await asyncio.sleep(self.interval)

    async def publish_once(self) -> None:
        try:
            snapshot = await self._port.status()
            self.latest = json.dumps({"type": "status", "status": plain(snapshot)},
                                     separators=(",", ":"))
        except Exception:
            log.exception("status snapshot failed")
            return
        for queue in self._queues:
            _put_newest(queue, self.latest)


def _put_newest(queue: asyncio.Queue[str], item: str) -> None:
    with suppress(asyncio.QueueEmpty):
        if queue.full():
            queue.get_nowait()
    queue.put_nowait(item)


HUB: web.AppKey[StatusHub] = web.AppKey("dialer_status_hub", StatusHub)


async def close_sockets(app: web.Application) -> None:
    """On shutdown, tell every status socket the server is going away."""
    for ws in list(app[HUB].sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def hub_context(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context that owns the hub's task."""
    task = asyncio.create_task(app[HUB].run(), name="status-hub")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


@routes.get("/api/status")
async def status(request: web.Request) -> web.Response:
    caller(request)
    return ok({"status": await port(request).status()})


@routes.get("/api/status/ws")
async def status_ws(request: web.Request) -> web.WebSocketResponse:
    who = caller(request)
    ws = web.WebSocketResponse(protocols=(WS_PROTOCOL,), heartbeat=20.0)
    await ws.prepare(request)
    log.info("status socket opened", role=who.role, agent=who.agent)
    hub = request.app[HUB]
    hub.sockets.add(ws)
    with hub.subscribe() as queue:
        sender = asyncio.create_task(_send_updates(ws, queue))
        try:
            await _read_until_closed(ws)
        finally:
            hub.sockets.discard(ws)
            sender.cancel()
            with suppress(asyncio.CancelledError):
                await sender
    return ws


async def _send_updates(ws: web.WebSocketResponse, queue: asyncio.Queue[str]) -> None:
    while not ws.closed:
        text = await queue.get()
        try:
            await ws.send_str(text)
        except ConnectionResetError:
            return


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            log.warning("status socket error", error=str(ws.exception()))
            return
