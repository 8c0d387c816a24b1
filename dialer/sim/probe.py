"""A bare AMI client for driving the simulator from tests and `dialer bench sim`.

It is deliberately simple (no reconnects, no action bookkeeping): it sends actions and
lets the caller wait for the messages it expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable

from dialer.adapters.ami.protocol import Message, Parser, encode

Match = Callable[[Message], bool]


class AmiProbe:
    """One AMI connection; every received message is kept in :attr:`seen`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = Parser(expect_banner=True)
        self.seen: list[Message] = []
        self.closed = False
        self._ids = itertools.count(1)
        self._taken: set[int] = set()

    @classmethod
    async def connect(cls, host: str, port: int) -> AmiProbe:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    @classmethod
    async def login(cls, host: str, port: int, username: str = "dialer",
                    secret: str = "dialer-secret") -> AmiProbe:
        probe = await cls.connect(host, port)
        await probe.action("Login", Username=username, Secret=secret)
        return probe

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(encode(pairs))

    async def action(self, name: str, *extra: tuple[str, str], timeout: float = 5.0,
                     **headers: str) -> Message:
        """Send an action with a fresh ActionID and return its Response."""
        aid = f"probe-{next(self._ids)}"
        self.send(("Action", name), *headers.items(), *extra, ("ActionID", aid))
        return await self.wait(lambda m: m.kind == "response" and m.action_id == aid, timeout)

    async def wait(self, match: Match, timeout: float = 5.0) -> Message:
        """The first matching message not already returned by an earlier wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, msg in enumerate(self.seen):
                if i not in self._taken and match(msg):
                    self._taken.add(i)
                    return msg
            left = deadline - loop.time()
            if left <= 0 or self.closed:
                raise TimeoutError("no matching AMI message")
            await self.read(left)

    async def read_until_closed(self, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed and loop.time() < deadline:
            await self.read(deadline - loop.time())

    async def read(self, timeout: float) -> None:
        """Read whatever arrives within ``timeout`` seconds into :attr:`seen`."""
        try:
            data = await asyncio.wait_for(self.reader.read(1 << 16), timeout)
        except TimeoutError:
            return
        except ConnectionError:
            data = b""
        if not data:
            self.closed = True
            return
        self.seen.extend(self.parser.feed(data))

    def events(self, name: str) -> list[Message]:
        return [m for m in self.seen if m.event == name]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
