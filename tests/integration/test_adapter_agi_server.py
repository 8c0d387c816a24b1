"""FastAGI server robustness over real sockets: early disconnects, stalls, garbage,
handler failures, the concurrency bound, and closing the socket every time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from dialer.adapters.agi.server import AgiConnectionClosed, AgiSession, FastAgiServer

ENV = (b"agi_network: yes\nagi_network_script: amd\n"
       b"agi_request: agi://127.0.0.1:4573/amd\n"
       b"agi_channel: Local/5550100@carrier-sim-00000025;1\nagi_uniqueid: 1795863628.75\n"
       b"agi_arg_1: HUMAN\nagi_arg_2: HUMAN-800-800\n\n")


@contextlib.asynccontextmanager
async def peer(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def idle(server: FastAgiServer) -> None:
    """Wait until the server owns no session task."""
    async with asyncio.timeout(3):
        while server.active_sessions:
            await asyncio.sleep(0.005)


async def eof(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 3)


class Calls:
    def __init__(self) -> None:
        self.sessions: list[AgiSession] = []
        self.release = asyncio.Event()
        self.errors: list[BaseException] = []

    async def record(self, session: AgiSession) -> None:
        self.sessions.append(session)

    async def block(self, session: AgiSession) -> None:
        self.sessions.append(session)
        await self.release.wait()

    async def fail(self, session: AgiSession) -> None:
        raise RuntimeError("handler bug")

    async def ask(self, session: AgiSession) -> None:
        try:
            await session.command("GET VARIABLE AMDSTATUS")
        except AgiConnectionClosed as exc:
            self.errors.append(exc)
            raise


async def test_peer_leaving_before_the_environment_ends_costs_nothing() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.record}, port=0) as server:
        async with peer(server.port) as (_, writer):
            writer.write(ENV[:40])
            await writer.drain()
        await idle(server)
        assert server.stats["early_disconnects"] == 1
    assert calls.sessions == []


async def test_silent_peer_is_dropped_after_the_environment_timeout() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.record}, port=0, env_timeout=0.1) as server:
        async with peer(server.port) as (reader, _):
            assert await eof(reader) == b""
        await idle(server)
    assert calls.sessions == []


async def test_oversized_or_garbled_environment_is_dropped() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.record}, port=0, env_max_bytes=64) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(b"agi_x: " + b"y" * 100 + b"\n")
            assert await eof(reader) == b""
        async with peer(server.port) as (reader, writer):
            writer.write(b"GET / HTTP/1.1\n")
            assert await eof(reader) == b""
        await idle(server)
    assert calls.sessions == []


async def test_socket_is_closed_after_the_handler_returns_though_the_peer_keeps_it_open(
        ) -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.record}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await eof(reader) == b""
        await idle(server)
    (session,) = calls.sessions
    assert session.env.args == ("HUMAN", "HUMAN-800-800") and session.env.script == "amd"


async def test_socket_is_closed_after_the_handler_fails() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.fail}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await eof(reader) == b""
        await idle(server)
        assert server.stats["handler_errors"] == 1


async def test_peer_leaving_mid_command_ends_the_session_cleanly() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.ask}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await reader.readline() == b"GET VARIABLE AMDSTATUS\n"
            writer.write(b"HANG")
        await idle(server)
        assert server.stats["handler_errors"] == 0
    assert len(calls.errors) == 1


async def test_unknown_script_is_closed_without_calling_any_handler() -> None:
    calls = Calls()
    async with FastAgiServer({"agent-login": calls.record}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await eof(reader) == b""
        await idle(server)
        assert server.stats["unknown_script"] == 1
    assert calls.sessions == []


async def test_connections_beyond_the_bound_are_refused_at_once() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.block}, port=0, max_sessions=2) as server:
        async with peer(server.port) as (_, w1), peer(server.port) as (_, w2):
            w1.write(ENV)
            w2.write(ENV)
            async with asyncio.timeout(3):
                while len(calls.sessions) < 2:
                    await asyncio.sleep(0.005)
            async with peer(server.port) as (r3, _):
                assert await eof(r3) == b""
            assert server.stats["rejected"] == 1
            calls.release.set()
        await idle(server)


async def test_close_cancels_running_sessions_and_leaves_no_task() -> None:
    calls = Calls()
    server = FastAgiServer({"amd": calls.block}, port=0)
    await server.start()
    async with peer(server.port) as (reader, writer):
        writer.write(ENV)
        async with asyncio.timeout(3):
            while not calls.sessions:
                await asyncio.sleep(0.005)
        await server.close()
        assert server.active_sessions == 0
        assert await eof(reader) == b""


async def test_command_with_a_line_break_is_refused() -> None:
    from dialer.adapters.agi.server import AgiError

    seen: list[BaseException] = []

    async def handler(session: AgiSession) -> None:
        with pytest.raises(AgiError, match="one non-empty line") as info:
            await session.command("NOOP\nHANGUP")
        seen.append(info.value)

    async with FastAgiServer({"amd": handler}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await eof(reader) == b""
        await idle(server)
    assert len(seen) == 1


async def test_helpers_quote_arguments_and_keep_get_data_keys_as_text() -> None:
    got: list[str | None] = []

    async def handler(session: AgiSession) -> None:
        await session.set_variable("DIALER_NOTE", 'say "hi" \\ bye')
        got.append(await session.get_data("dialer/press-1", 3000, 3))
        got.append(await session.get_data("dialer/press-1", 3000, 3))

    async with FastAgiServer({"amd": handler}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            assert await reader.readline() == b'SET VARIABLE DIALER_NOTE "say \\"hi\\" \\\\ bye"\n'
            writer.write(b"200 result=1\n")
            assert await reader.readline() == b"GET DATA dialer/press-1 3000 3\n"
            writer.write(b"200 result=042 (timeout)\n")
            await reader.readline()
            writer.write(b"HANGUP\n200 result=-1\n")
            assert await eof(reader) == b""
        await idle(server)
    assert got == ["042", None]
