"""A TCP proxy in front of PostgreSQL's Unix socket, with a switch: a real network
fault for the tests (every connection cut, new ones refused, then restored)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlparse


def socket_of(dsn: str) -> str:
    """The Unix socket of an embedded server's DSN."""
    host = parse_qs(urlparse(dsn).query)["host"][0]
    return f"{host}/.s.PGSQL.5432"


def through(dsn: str, proxy: Proxy) -> str:
    """The same database, reached over the proxy."""
    name = urlparse(dsn).path.lstrip("/")
    return f"postgresql://postgres@127.0.0.1:{proxy.port}/{name}"


class Proxy:
    """TCP on 127.0.0.1 to Postgres's Unix socket, with a switch."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self.up = False
        for conn in list(self._conns):
            conn.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError | None) for r in results), results
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._relay(reader, writer)
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            return
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        self._conns |= {writer, up_writer}
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_pipe(reader, up_writer))
                tg.create_task(_pipe(up_reader, writer))
        finally:
            self._conns -= {writer, up_writer}
            up_writer.transport.abort()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    dst.transport.abort()


