"""A small FastAGI server: one task per connection, all owned by the server.

Guarantees (see ``docs/adapters.md``):

* the environment is read with a time limit (``env_timeout``) and a size limit
  (``env_max_bytes``); a peer that disconnects early, stalls or sends garbage is
  dropped at once, and no task is left behind;
* the handler registered for ``agi_network_script`` gets an :class:`AgiSession`;
  when it returns or fails, the socket is ALWAYS closed (Asterisk never closes it, and
  the channel stays alive until we do);
* at most ``max_sessions`` connections run at a time; extra connections are closed at
  once (the dialplan sees ``AGISTATUS=FAILURE`` and continues);
* only the Asterisk hosts in ``allowed_hosts`` (IP addresses, networks or host names;
  loopback by default) are answered: any other peer is closed before a byte is read,
  and logged by address only;
* :meth:`FastAgiServer.close` cancels running sessions and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

import structlog

from dialer.adapters.agi.protocol import (
    HANGUP_LINE,
    AgiEnvironment,
    AgiProtocolError,
    AgiReply,
    parse_env_line,
    parse_reply,
)

log = structlog.get_logger("dialer.adapters.agi")


class AgiError(Exception):
    """Base of FastAGI session errors."""


class AgiConnectionClosed(AgiError):
    """Asterisk closed the connection before replying."""


class AgiSession:
    """One FastAGI conversation. Commands run one at a time."""

    def __init__(self, env: AgiEnvironment, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, command_timeout: float | None = None) -> None:
        self.env = env
        self.hung_up = False
        self._reader = reader
        self._writer = writer
        self._timeout = command_timeout
        self._lock = asyncio.Lock()

    async def command(self, line: str, *, timeout: float | None = None) -> AgiReply:
        """Send one command and return its reply, skipping unsolicited ``HANGUP`` lines
        (which set :attr:`hung_up`)."""
        if "\n" in line or "\r" in line or not line.strip():
            raise AgiError(f"AGI command must be one non-empty line: {line[:80]!r}")
        async with self._lock:
            self._writer.write(line.encode() + b"\n")
            async with asyncio.timeout(timeout if timeout is not None else self._timeout):
                return await self._read_reply()

    async def _read_reply(self) -> AgiReply:
        while True:
            line = await self._readline()
            if line == HANGUP_LINE:
                self.hung_up = True
                continue
            if line[:4].endswith("-") and line[:3].isdigit():
                return parse_reply(await self._read_multiline(line))
            return parse_reply(line)

    async def _read_multiline(self, first: str) -> str:
        lines = [first]
        while not (lines[-1][:3] == first[:3] and lines[-1][3:4] == " "):
            lines.append(await self._readline())
        return "\n".join(lines)

    async def _readline(self) -> str:
        try:
            raw = await self._reader.readline()
        except ValueError as exc:
            raise AgiProtocolError(f"reply line too long: {exc}") from None
        except ConnectionError as exc:
            raise AgiConnectionClosed(f"connection lost: {exc}") from None
        if not raw.endswith(b"\n"):
            raise AgiConnectionClosed("Asterisk closed the FastAGI connection")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    # -- conveniences ------------------------------------------------------------------

    async def get_variable(self, name: str) -> str | None:
        """The variable's value, or ``None`` when unset (``200 result=0``)."""
        reply = await self.command(f"GET VARIABLE {name}")
        return reply.data if reply.ok and reply.result == 1 else None

    async def set_variable(self, name: str, value: str) -> AgiReply:
        return await self.command(f"SET VARIABLE {name} {_quote(value)}")

    async def answer(self) -> AgiReply:
        return await self.command("ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> AgiReply:
        return await self.command(f"STREAM FILE {name} {_quote(escape_digits)}")

    async def verbose(self, message: str, level: int = 1) -> AgiReply:
        return await self.command(f"VERBOSE {_quote(message)} {level}")

    async def get_data(self, sound: str, timeout_ms: int, max_digits: int) -> str | None:
        """Play ``sound`` and collect up to ``max_digits`` keys (digits, ``*``, ``#``,
        leading zeros kept); ``None`` on hangup or failure."""
        reply = await self.command(f"GET DATA {sound} {timeout_ms} {max_digits}")
        if not reply.ok or reply.result_text is None or reply.result_text.startswith("-"):
            return None
        return reply.result_text

    async def exec(self, application: str, options: str = "") -> AgiReply:
        return await self.command(f"EXEC {application} {_quote(options)}")

    async def hangup(self) -> AgiReply:
        return await self.command("HANGUP")

    async def noop(self) -> AgiReply:
        return await self.command("NOOP")


def _quote(value: str) -> str:
    """One AGI argument: double-quoted, backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


Handler = Callable[[AgiSession], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = ("127.0.0.1", "::1")


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _address(peer: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return mapped or addr


class PeerFilter:
    """The hosts allowed to open FastAGI sessions. Host names are looked up at
    :meth:`resolve` and again (at most every ``refresh_s``) when an unknown peer calls,
    so an Asterisk that moved to a new address is let in without a restart."""

    def __init__(self, entries: Iterable[str], refresh_s: float = 10.0) -> None:
        self.entries = tuple(entries)
        self.names = tuple(e for e in self.entries if _network(e) is None)
        self.refresh_s = refresh_s
        self._static = [n for n in map(_network, self.entries) if n is not None]
        self._resolved: list[Network] = []
        self._resolved_at = float("-inf")

    async def resolve(self) -> None:
        loop = asyncio.get_running_loop()
        found: list[Network] = []
        for name in self.names:
            try:
                infos = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.warning("agi_allowed_host_unresolved", host=name, error=str(exc))
                continue
            found += [ipaddress.ip_network(i[4][0].split("%", 1)[0]) for i in infos]
        self._resolved, self._resolved_at = found, time.monotonic()

    def _matches(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(addr in net for net in (*self._static, *self._resolved))

    async def allows(self, peer: str) -> bool:
        addr = _address(peer)
        if addr is None:
            return False
        if self._matches(addr):
            return True
        if self.names and time.monotonic() - self._resolved_at >= self.refresh_s:
            await self.resolve()
            return self._matches(addr)
        return False


class FastAgiServer:
    """Routes each connection to ``handlers[agi_network_script]``."""

    def __init__(self, handlers: Mapping[str, Handler], *, host: str = "127.0.0.1",
                 port: int = 4573, max_sessions: int = 500, env_timeout: float = 5.0,
                 env_max_bytes: int = 16 * 1024, command_timeout: float | None = None,
                 session_timeout: float | None = None,
                 allowed_hosts: Iterable[str] = LOOPBACK) -> None:
        self.handlers = dict(handlers)
        self.peers = PeerFilter(allowed_hosts)
        self.host, self._port = host, port
        self.max_sessions = max_sessions
        self.env_timeout, self.env_max_bytes = env_timeout, env_max_bytes
        self.command_timeout, self.session_timeout = command_timeout, session_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = {"accepted": 0, "rejected": 0, "refused": 0, "early_disconnects": 0,
                      "unknown_script": 0, "handler_errors": 0, "completed": 0}

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        return len(self._tasks)

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        await self.peers.resolve()
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        log.info("agi_listening", host=self.host, port=self.port,
                 allowed_hosts=list(self.peers.entries))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- connections -------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._tasks) >= self.max_sessions:
            self.stats["rejected"] += 1
            log.warning("agi_rejected_full", max_sessions=self.max_sessions)
            writer.close()
            return
        self.stats["accepted"] += 1
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("agi_session_crashed", error=repr(task.exception()))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not await self._peer_allowed(writer):
                return
            env = await self._read_env(reader)
            if env is not None:
                await self._dispatch(AgiSession(env, reader, writer, self.command_timeout))
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _peer_allowed(self, writer: asyncio.StreamWriter) -> bool:
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if await self.peers.allows(host):
            return True
        self.stats["refused"] += 1
        log.warning("agi_peer_refused", peer=host or "unknown",
                    hint="not in agi.allowed_hosts")
        return False

    async def _read_env(self, reader: asyncio.StreamReader) -> AgiEnvironment | None:
        try:
            async with asyncio.timeout(self.env_timeout):
                return await self._env_lines(reader)
        except TimeoutError:
            log.warning("agi_env_timeout", timeout_s=self.env_timeout)
        except (ValueError, ConnectionError) as exc:  # AgiProtocolError is a ValueError
            log.warning("agi_bad_env", error=str(exc))
        return None

    async def _env_lines(self, reader: asyncio.StreamReader) -> AgiEnvironment | None:
        values: dict[str, str] = {}
        size = 0
        while True:
            raw = await reader.readline()
            if not raw.endswith(b"\n"):
                self.stats["early_disconnects"] += 1
                return None
            size += len(raw)
            if size > self.env_max_bytes:
                raise AgiProtocolError(f"environment larger than {self.env_max_bytes} bytes")
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:
                return AgiEnvironment(values)
            key, value = parse_env_line(line)
            values[key] = value

    async def _dispatch(self, session: AgiSession) -> None:
        script = session.env.script
        handler = self.handlers.get(script)
        if handler is None:
            self.stats["unknown_script"] += 1
            log.warning("agi_unknown_script", script=script, channel=session.env.channel)
            return
        try:
            async with asyncio.timeout(self.session_timeout):
                await handler(session)
            self.stats["completed"] += 1
        except (AgiConnectionClosed, TimeoutError) as exc:
            log.info("agi_session_ended", script=script, channel=session.env.channel,
                     reason=str(exc) or type(exc).__name__)
        except Exception:
            self.stats["handler_errors"] += 1
            log.exception("agi_handler_failed", script=script, channel=session.env.channel)
