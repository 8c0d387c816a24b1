"""The AMI server of the simulated Asterisk: sessions, login and the event stream.

Every logged-in session with events on receives every event, as in real Asterisk.
Actions are answered by :mod:`dialer.sim.ami_actions`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.adapters.ami.protocol import AmiProtocolError, Message, Parser, encode
from dialer.sim.parties import Parties

log = logging.getLogger(__name__)
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
Headers = list[tuple[str, str]]


@dataclass
class AmiFaults:
    """Switches the fault API flips."""

    stall_until: float = 0.0
    refuse: bool = False


def event_tv(t: float | None = None) -> str:
    t = time.time() if t is None else t
    ms = int((t % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}+0000"


class AmiSession(asyncio.Protocol):
    """One AMI client connection."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.parser = Parser()
        self.transport: asyncio.Transport | None = None
        self.logged_in = False
        self.events_on = True
        self.challenge = ""
        self.closing = False
        self.held: list[bytes] = []
        self.session_id = f"0x{random.getrandbits(44):012x}"
        self.started = time.time()
        self.local = ""
        self.remote = ""

    # ---- transport ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.server.sessions.add(self)
        self.local = _addr(transport.get_extra_info("sockname"))
        self.remote = _addr(transport.get_extra_info("peername"))
        self.transport.write(BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.sessions.discard(self)
        self.server.pbx.ami_sinks.discard(self.deliver)

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.parser.feed(data)
        except AmiProtocolError as exc:
            self.send([("Response", "Error"), ("Message", f"Protocol error: {exc}")])
            self.close()
            return
        for msg in messages:
            if self.closing:
                return
            self.server.handle(self, msg)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closing:
            return
        if self.server.faults.stall_until > time.monotonic() or self.held:
            self.held.append(data)
            self.server.schedule_release(self)
            return
        self.transport.write(data)

    def release(self) -> None:
        if self.server.faults.stall_until > time.monotonic() or self.transport is None:
            return
        held, self.held = self.held, []
        if held and not self.closing:
            self.transport.write(b"".join(held))

    def send(self, headers: Headers) -> None:
        self.write(encode(headers))

    def deliver(self, data: bytes) -> None:
        if self.events_on:
            self.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.closing:
            self.closing = True
            self.release()
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.closing = True
            self.transport.abort()

    # ---- login ----------------------------------------------------------------------

    def login(self, msg: Message, aid: Headers) -> None:
        if self._credentials_ok(msg):
            self.logged_in = True
            self.send([("Response", "Success"), *aid, ("Message", "Authentication accepted")])
            self._after_login(msg)
            self.server.pbx.ami_sinks.add(self.deliver)
            return
        loop = asyncio.get_running_loop()
        loop.call_later(self.server.fail_delay_s, self._reject, aid)

    def _reject(self, aid: Headers) -> None:
        self.send([("Response", "Error"), *aid, ("Message", "Authentication failed")])
        self.close()

    def _credentials_ok(self, msg: Message) -> bool:
        if msg.get("Username") != self.server.username:
            return False
        if (msg.get("AuthType") or "").lower() == "md5":
            want = hashlib.md5((self.challenge + self.server.secret).encode()).hexdigest()
            return bool(self.challenge) and msg.get("Key") == want
        return msg.get("Secret") == self.server.secret

    def _after_login(self, msg: Message) -> None:
        uptime = str(int(time.time() - self.server.pbx.started))
        self.send([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                   ("LastReload", uptime), ("Status", "Fully Booted")])
        self.send([("Event", "SuccessfulAuth"), ("Privilege", "security,all"),
                   ("EventTV", event_tv()), ("Severity", "Informational"), ("Service", "AMI"),
                   ("EventVersion", "1"), ("AccountID", self.server.username),
                   ("SessionID", self.session_id), ("LocalAddress", self.local),
                   ("RemoteAddress", self.remote), ("UsingPassword", "0"),
                   ("SessionTV", event_tv(self.started))])

    def bad_request_event(self, request_type: str) -> None:
        self.server.pbx.emit("RequestBadFormat", "security,all", [
            ("EventTV", event_tv()), ("Severity", "Error"), ("Service", "AMI"),
            ("EventVersion", "1"), ("SessionID", self.session_id),
            ("LocalAddress", self.local), ("RemoteAddress", self.remote),
            ("RequestType", request_type), ("SessionTV", event_tv(self.started)),
            ("AccountID", self.server.username)])


def _addr(info: object) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        return f"IPV4/TCP/{info[0]}/{info[1]}"
    return "IPV4/TCP/0.0.0.0/0"


ActionFn = Callable[[AmiSession, Message, Headers], None]


@dataclass
class AmiServer:
    """Listens for AMI clients; ``actions`` maps lower-case action names to handlers."""

    pbx: Parties
    actions: dict[str, ActionFn]
    username: str = "dialer"
    secret: str = "dialer-secret"
    fail_delay_s: float = 1.0
    faults: AmiFaults = field(default_factory=AmiFaults)
    sessions: set[AmiSession] = field(default_factory=set)
    server: asyncio.Server | None = None
    host: str = "127.0.0.1"
    port: int = 0
    _release_pending: bool = False

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: AmiSession(self), host, port,
                                               reuse_address=True)
        self.host = host
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def close(self) -> None:
        await self.stop_listening()
        for s in list(self.sessions):
            s.abort()

    def handle(self, session: AmiSession, msg: Message) -> None:
        action = (msg.action or "").strip()
        aid: Headers = [("ActionID", msg.action_id)] if msg.action_id is not None else []
        if not action:
            session.send([("Response", "Error"), *aid, ("Message", "Missing action in request")])
            return
        low = action.lower()
        if low == "login":
            session.login(msg, aid)
        elif low == "challenge":
            self._challenge(session, msg, aid)
        elif not session.logged_in:
            session.send([("Response", "Error"), *aid, ("Message", "Permission denied")])
        elif low in self.actions:
            self.actions[low](session, msg, aid)
        else:
            session.bad_request_event(f"Action: {action}")
            session.send([("Response", "Error"), *aid, (
                "Message", f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands.")])

    def _challenge(self, session: AmiSession, msg: Message, aid: Headers) -> None:
        if (msg.get("AuthType") or "").lower() != "md5":
            session.send([("Response", "Error"), *aid, ("Message", "Must specify AuthType")])
            return
        session.challenge = str(random.randint(100000000, 999999999))
        session.send([("Response", "Success"), *aid, ("Challenge", session.challenge)])

    def schedule_release(self, session: AmiSession) -> None:
        if self._release_pending:
            return
        self._release_pending = True
        delay = max(self.faults.stall_until - time.monotonic(), 0.0)
        asyncio.get_running_loop().call_later(delay + 0.001, self._release_all)

    def _release_all(self) -> None:
        self._release_pending = False
        if self.faults.stall_until > time.monotonic():
            self.schedule_release(next(iter(self.sessions), None))  # type: ignore[arg-type]
            return
        for s in list(self.sessions):
            s.release()
