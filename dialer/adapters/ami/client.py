"""Asyncio AMI client: login, request/response by ActionID, typed events, ping, reconnect.

Guarantees (see ``docs/adapters.md``):

* an action is written at most once. When the connection drops, every pending request
  fails with :class:`AmiConnectionLost` and is forgotten; nothing is replayed after a
  reconnect (the engine reconciles an unanswered Originate from CoreShowChannels and
  its database);
* :meth:`AmiClient.send` while disconnected fails at once with :class:`AmiNotConnected`;
* a Ping goes out every ``ping_interval`` seconds; one unanswered within
  ``ping_timeout`` drops the connection, which is then re-established with backoff;
* events, and the :class:`Connected`/:class:`Disconnected` notices, come out of one
  queue owned by the client, in wire order, through :meth:`AmiClient.events`;
* secrets are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

from dialer.adapters.ami import actions
from dialer.adapters.ami.events import (
    AmiEvent,
    AmiEventError,
    CoreShowChannel,
    OtherEvent,
    parse_event,
)
from dialer.adapters.ami.protocol import BANNER_PREFIX, AmiProtocolError, Message, Parser
from dialer.adapters.ami.types import (
    AmiConfig,
    AmiConnectionLost,
    AmiDuplicateOriginate,
    AmiError,
    AmiLoginError,
    AmiNotConnected,
    AmiPingTimeout,
    AmiTimeout,
    Response,
)
from dialer.adapters.backoff import (
    Backoff,
    Connected,
    Disconnected,
    StateCallback,
    reconnect_forever,
)

__all__ = [
    "AmiClient", "AmiConfig", "AmiConnectionLost", "AmiDuplicateOriginate", "AmiError",
    "AmiLoginError", "AmiNotConnected", "AmiPingTimeout", "AmiTimeout", "ClientEvent",
    "Response",
]
_ORIGINATE_MEMORY = 100_000

log = structlog.get_logger("dialer.adapters.ami")


ClientEvent = AmiEvent | Connected | Disconnected


@dataclass(slots=True)
class _Pending:
    action: actions.Action
    future: asyncio.Future[Response]
    head: Message | None = None
    items: list[AmiEvent] = field(default_factory=list)


class _End:
    """Queue sentinel: the client has stopped."""


_END = _End()


class AmiClient:
    """One AMI connection, kept alive by :meth:`run` until :meth:`close`."""

    def __init__(self, config: AmiConfig, *, on_state: StateCallback | None = None,
                 backoff: Backoff | None = None, name: str = "ami") -> None:
        self.config = config
        self.name = name
        self._on_state = on_state
        self._backoff = backoff or Backoff(config.backoff_initial, config.backoff_max)
        self._events: asyncio.Queue[ClientEvent | _End] = asyncio.Queue()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._writer: asyncio.StreamWriter | None = None
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._early: list[AmiEvent] = []
        self._stopping = False
        self._originated: OrderedDict[str, None] = OrderedDict()
        self.session = 0

    # -- public API ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    async def wait_connected(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    async def send(self, action: actions.Action, *, timeout: float | None = None) -> Response:
        """Send once and await the reply (all items for a list action)."""
        writer = self._live_writer(action.name)
        limit = self.config.request_timeout if timeout is None else timeout
        return await self._request(writer, action, limit)

    def _live_writer(self, what: str) -> asyncio.StreamWriter:
        writer = self._writer
        if writer is None or not self._ready.is_set() or writer.is_closing():
            raise AmiNotConnected(f"AMI {self.name}: not connected; {what} not sent")
        return writer

    async def originate(self, request: actions.OriginateRequest) -> Response:
        """Queue an Async Originate; the outcome arrives later as OriginateResponse.

        At most one Originate per attempt UUID is ever written by this client; a second
        one raises :class:`AmiDuplicateOriginate` without sending anything."""
        action = actions.originate(request)
        key = str(request.attempt_id)
        if key in self._originated:
            raise AmiDuplicateOriginate(f"AMI {self.name}: attempt {key} was already originated")
        writer = self._live_writer("Originate")
        self._originated[key] = None
        if len(self._originated) > _ORIGINATE_MEMORY:
            self._originated.popitem(last=False)
        return await self._request(writer, action, self.config.request_timeout)

    async def channels(self) -> list[CoreShowChannel]:
        """Every live channel (CoreShowChannels), to reconcile after a reconnect."""
        reply = await self.send(actions.core_show_channels())
        if not reply.success:
            raise AmiError(f"AMI {self.name}: CoreShowChannels refused: {reply.message}")
        return [item for item in reply.items if isinstance(item, CoreShowChannel)]

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Every event and connection notice, in order, until the client stops."""
        while True:
            item = await self._events.get()
            if isinstance(item, _End):
                self._events.put_nowait(item)
                return
            yield item

    async def close(self) -> None:
        """Log off (best effort) and stop :meth:`run`."""
        self._stopping = True
        writer = self._writer
        if writer is not None and self._ready.is_set():
            with contextlib.suppress(AmiError, OSError):
                await self._request(writer, actions.logoff(), 1.0)
        self._closing.set()

    async def run(self) -> None:
        """Connect, log in and serve; reconnect with backoff until :meth:`close`.

        Raises :class:`AmiLoginError` when the login is refused."""
        try:
            await reconnect_forever(self._one_session, self._closing, self._backoff,
                                    self._note_wait)
        finally:
            self._events.put_nowait(_END)

    # -- one connection --------------------------------------------------------------

    def _note_wait(self, delay: float) -> None:
        log.info("ami_reconnect_wait", ami=self.name, delay_s=round(delay, 3))

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        cfg = self.config
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port), cfg.connect_timeout)
        except (OSError, TimeoutError) as exc:
            log.warning("ami_connect_failed", ami=self.name, host=cfg.host, port=cfg.port,
                        error=str(exc) or type(exc).__name__)
            return None

    async def _one_session(self) -> bool:
        """One connection's life; True when it got as far as a login."""
        opened = await self._open()
        if opened is None:
            return False
        reader, writer = opened
        self._writer = writer
        reason = "closed"
        try:
            await self._read_banner(reader)
            await _race(self._login_and_ping(writer), self._read_loop(reader),
                        self._closing.wait())
        except AmiLoginError:
            raise
        except (AmiError, AmiProtocolError, OSError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            logged_in = await self._teardown(writer, reason)
        return logged_in

    async def _read_banner(self, reader: asyncio.StreamReader) -> None:
        line = await asyncio.wait_for(reader.readline(), self.config.login_timeout)
        if not line:
            raise AmiConnectionLost("connection closed before the banner")
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.startswith(BANNER_PREFIX):
            raise AmiProtocolError(f"not an AMI server: first line is {text[:80]!r}")

    async def _login_and_ping(self, writer: asyncio.StreamWriter) -> None:
        await self._login(writer)
        self.session += 1
        self._ready.set()
        log.info("ami_connected", ami=self.name, session=self.session)
        self._notify(Connected(self.name, self.session))
        early, self._early = self._early, []
        for event in early:
            self._events.put_nowait(event)
        await self._ping_loop(writer)

    async def _login(self, writer: asyncio.StreamWriter) -> None:
        cfg = self.config
        if cfg.auth == "md5":
            reply = await self._request(writer, actions.challenge(), cfg.login_timeout)
            value = reply.get("Challenge")
            if not reply.success or not value:
                raise AmiLoginError(f"AMI {self.name}: MD5 challenge refused: {reply.message}")
            login = actions.login_md5(cfg.username, value, cfg.secret)
        else:
            login = actions.login_plain(cfg.username, cfg.secret)
        reply = await self._request(writer, login, cfg.login_timeout)
        if not reply.success:
            raise AmiLoginError(f"AMI {self.name}: login as {cfg.username!r} refused: "
                                f"{reply.message}")

    async def _ping_loop(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            try:
                await self._request(writer, actions.ping(), self.config.ping_timeout)
            except AmiTimeout:
                raise AmiPingTimeout(
                    f"no Pong within {self.config.ping_timeout} s") from None

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        parser = Parser()
        while True:
            data = await reader.read(65536)
            if not data:
                raise AmiConnectionLost("connection closed by the server")
            for msg in parser.feed(data):
                self._dispatch(msg)

    async def _teardown(self, writer: asyncio.StreamWriter, reason: str) -> bool:
        was_ready = self._ready.is_set()
        self._ready.clear()
        self._writer = None
        self._early = []
        self._fail_pending(reason)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        if was_ready:
            emit = log.info if self._stopping else log.warning
            emit("ami_disconnected", ami=self.name, session=self.session, reason=reason)
            self._notify(Disconnected(self.name, self.session, reason))
        return was_ready

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for aid, p in pending.items():
            if not p.future.done():
                p.future.set_exception(AmiConnectionLost(
                    f"AMI {self.name}: connection lost before the reply to "
                    f"{p.action.name} (ActionID {aid}): {reason}"))

    def _notify(self, notice: Connected | Disconnected) -> None:
        self._events.put_nowait(notice)
        if self._on_state is not None:
            self._on_state(notice)

    # -- requests and routing --------------------------------------------------------

    async def _request(self, writer: asyncio.StreamWriter, action: actions.Action,
                       timeout: float | None) -> Response:
        aid = action.action_id or f"{self.name}-{next(self._ids)}"
        if aid in self._pending:
            raise AmiError(f"AMI {self.name}: ActionID {aid} is already pending")
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[aid] = _Pending(action, future)
        try:
            writer.write(action.to_bytes(aid))
            log.debug("ami_send", ami=self.name, action=action.name, action_id=aid)
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AmiTimeout(f"AMI {self.name}: no reply to {action.name} (ActionID {aid}) "
                             f"within {timeout} s") from None
        finally:
            self._pending.pop(aid, None)

    def _dispatch(self, msg: Message) -> None:
        aid = msg.action_id
        pending = self._pending.get(aid) if aid is not None else None
        if msg.kind == "response":
            self._on_response(msg, aid, pending)
        elif msg.kind == "event":
            if pending is not None and pending.head is not None:
                self._on_list_item(msg, pending)
            elif self._ready.is_set():
                self._events.put_nowait(self._typed(msg))
            else:
                self._early.append(self._typed(msg))
        else:
            log.warning("ami_unexpected_message", ami=self.name, first=msg.headers[:1])

    def _on_response(self, msg: Message, aid: str | None, pending: _Pending | None) -> None:
        if pending is None:
            log.info("ami_unmatched_response", ami=self.name, action_id=aid)
            return
        starts_list = (msg.get("EventList") or "").lower() == "start"
        if pending.action.is_list and starts_list and msg.get("Response") == "Success":
            pending.head = msg
            return
        self._resolve(aid, pending, msg)

    def _on_list_item(self, msg: Message, pending: _Pending) -> None:
        if (msg.get("EventList") or "").lower() == "complete":
            assert pending.head is not None
            self._resolve(msg.action_id, pending, pending.head)
        else:
            pending.items.append(self._typed(msg))

    def _resolve(self, aid: str | None, pending: _Pending, msg: Message) -> None:
        self._pending.pop(aid or "", None)
        if pending.future.done():
            return
        status = msg.get("Response") or ""
        pending.future.set_result(Response(
            action=pending.action.name, action_id=aid or "",
            success=status in ("Success", "Goodbye", "Follows"), status=status,
            message=msg.get("Message") or "", raw=msg, items=tuple(pending.items)))

    def _typed(self, msg: Message) -> AmiEvent:
        try:
            return parse_event(msg)
        except AmiEventError as exc:
            log.warning("ami_bad_event", ami=self.name, error=str(exc))
            return OtherEvent(name=msg.event or "?", message=msg)


async def _race(*coros: Coroutine[Any, Any, object]) -> None:
    """Run coroutines until the first ends; cancel the rest; re-raise the first error
    (in argument order)."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
