"""Independent witnesses of what Asterisk did: a second AMI session and an ARI
WebSocket subscribed to everything, each keeping its own history of events.

They share no code with the engine's clients, so a test judges the engine by what
Asterisk reported, not by what the engine believes. ARI events carry Asterisk's own
``timestamp``; AMI events get the time they were read."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

Headers = dict[str, str]


def parse_ami(block: bytes) -> Headers:
    out: Headers = {}
    for line in block.decode(errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key not in out:
            out[key] = value.strip()
    return out



async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

@dataclass
class AmiWitness:
    """A plain AMI session that records every event with its arrival time."""

    host: str
    port: int
    username: str
    secret: str
    events: list[tuple[float, Headers]] = field(default_factory=list)
    _writer: asyncio.StreamWriter | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AmiWitness:
        reader, self._writer = await asyncio.open_connection(self.host, self.port)
        await reader.readline()  # the banner
        self._writer.write(f"Action: Login\r\nUsername: {self.username}\r\n"
                           f"Secret: {self.secret}\r\n\r\n".encode())
        reply = parse_ami(await reader.readuntil(b"\r\n\r\n"))
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI witness login refused: {reply.get('Message')}")
        self._task = asyncio.create_task(self._read(reader))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await _stop(self._task)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                msg = parse_ami(await reader.readuntil(b"\r\n\r\n"))
                self.events.append((loop.time(), msg))

    def find(self, event: str, **match: str) -> list[tuple[float, Headers]]:
        return [(t, h) for t, h in self.events if h.get("Event") == event
                and all(h.get(k) == v for k, v in match.items())]

    def send(self, action: str, *headers: tuple[str, str]) -> None:
        """Send an action without waiting for its Response (it lands in ``events``
        unread): for tests that place calls by hand."""
        assert self._writer is not None, "use the witness inside `async with`"
        lines = [f"Action: {action}", *(f"{k}: {v}" for k, v in headers)]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())


def ari_time(event: dict[str, Any]) -> float:
    """Asterisk's own timestamp of an ARI event, in epoch seconds."""
    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass
class AriWitness:
    """An ARI app of its own, subscribed to every channel, bridge and endpoint."""

    base_url: str
    username: str
    password: str
    app: str = "witness"
    events: list[dict[str, Any]] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AriWitness:
        self._session = aiohttp.ClientSession()
        url = f"{self.base_url}/ari/events"
        params = {"app": self.app, "subscribeAll": "true",
                  "api_key": f"{self.username}:{self.password}"}
        ws = await self._session.ws_connect(url, params=params, heartbeat=10)
        self._task = asyncio.create_task(self._read(ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await _stop(self._task)
        if self._session is not None:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(msg.data))
        finally:
            await ws.close()

    def find(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [ev for ev in self.events if ev.get("type") == kind
                and all(_dig(ev, k) == v for k, v in match.items())]


def _dig(event: dict[str, Any], path: str) -> Any:
    """``channel__id`` -> event["channel"]["id"]."""
    value: Any = event
    for part in path.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value
