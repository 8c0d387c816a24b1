"""The ARI events WebSocket (``/ari/events?app=...``), kept open with a heartbeat and
re-opened with backoff.

Guarantees: every frame is parsed once into a typed event and handed out, in order,
through :meth:`AriEventStream.events`, together with :class:`Connected` and
:class:`Disconnected` notices. A silent peer is detected by the heartbeat (a ping every
``heartbeat`` seconds; no pong within half of it closes the socket). A 401 at upgrade is
fatal (:class:`AriAuthError`); anything else is retried. After a reconnect the engine
rebuilds its view with ``GET /channels``: events missed while disconnected are gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import structlog

from dialer.adapters.ari.client import AriConfig
from dialer.adapters.ari.errors import AriAuthError
from dialer.adapters.ari.events import AriEvent, parse_frame
from dialer.adapters.ari.models import AriModelError
from dialer.adapters.backoff import (
    Backoff,
    Connected,
    Disconnected,
    StateCallback,
    reconnect_forever,
)

log = structlog.get_logger("dialer.adapters.ari")

StreamItem = AriEvent | Connected | Disconnected


class _End:
    """Queue sentinel: the stream has stopped."""


_END = _End()


class AriEventStream:
    """One application's event stream, alive from :meth:`run` until :meth:`close`."""

    def __init__(self, config: AriConfig, session: aiohttp.ClientSession, *,
                 on_state: StateCallback | None = None, backoff: Backoff | None = None,
                 name: str = "ari") -> None:
        self.config = config
        self.name = name
        self._http = session
        self._on_state = on_state
        self._backoff = backoff or Backoff(config.backoff_initial, config.backoff_max)
        self._queue: asyncio.Queue[StreamItem | _End] = asyncio.Queue()
        self._closing = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.session = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def events(self) -> AsyncIterator[StreamItem]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)
                return
            yield item

    async def close(self) -> None:
        self._closing.set()
        if self._ws is not None:
            await self._ws.close()

    async def run(self) -> None:
        """Connect and read until :meth:`close`; raises AriAuthError on a 401."""
        try:
            await reconnect_forever(self._one_session, self._closing, self._backoff,
                                    self._note_wait)
        finally:
            self._queue.put_nowait(_END)

    def _note_wait(self, delay: float) -> None:
        log.info("ari_reconnect_wait", ari=self.name, delay_s=round(delay, 3))

    def _url(self) -> str:
        return f"{self.config.root()}/events"

    async def _connect(self) -> aiohttp.ClientWebSocketResponse | None:
        params = {"app": self.config.app, **self.config.auth_params()}
        try:
            return await self._http.ws_connect(
                self._url(), params=params, headers=self.config.auth_headers(),
                heartbeat=self.config.heartbeat)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise AriAuthError("WebSocket upgrade refused: Authentication required",
                                   method="GET", path="/events", status=401,
                                   reason="Unauthorized") from None
            log.warning("ari_ws_refused", ari=self.name, status=exc.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("ari_ws_connect_failed", ari=self.name,
                        error=str(exc) or type(exc).__name__)
        return None

    async def _one_session(self) -> bool:
        ws = await self._connect()
        if ws is None:
            return False
        if self._closing.is_set():
            await ws.close()
            return False
        self._ws = ws
        self.session += 1
        self._notify(Connected(self.name, self.session))
        reason = "closed"
        try:
            reason = await self._read(ws)
        finally:
            await ws.close()
            self._ws = None
            self._notify(Disconnected(self.name, self.session, reason))
        return True

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._deliver(msg.data)
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return f"error: {ws.exception()}"
        return f"closed (code {ws.close_code})"

    def _deliver(self, frame: str) -> None:
        try:
            self._queue.put_nowait(parse_frame(frame))
        except AriModelError as exc:
            log.warning("ari_bad_event", ari=self.name, error=str(exc))

    def _notify(self, notice: Connected | Disconnected) -> None:
        log.info("ari_" + type(notice).__name__.lower(), ari=self.name, session=notice.session)
        self._queue.put_nowait(notice)
        if self._on_state is not None:
            self._on_state(notice)
