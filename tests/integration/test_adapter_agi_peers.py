"""The FastAGI server answers only the Asterisk hosts it is told about: any other peer
is closed before a byte is read, and the refusal is logged by address only."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from structlog.testing import capture_logs

from dialer.adapters.agi.server import FastAgiServer, PeerFilter
from tests.integration.test_adapter_agi_server import ENV, Calls, eof, idle, peer

SECRET_ENV = ENV.replace(b"HUMAN-800-800", b"token-s3cret-in-the-env")


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True when the server closed: a clean EOF, or a reset because what the peer had
    sent was never read."""
    try:
        return await eof(reader) == b""
    except ConnectionResetError:
        return True


async def test_loopback_is_answered_by_default() -> None:
    calls = Calls()
    async with FastAgiServer({"amd": calls.record}, port=0) as server:
        async with peer(server.port) as (reader, writer):
            writer.write(ENV)
            await eof(reader)
        await idle(server)
    assert server.peers.entries == ("127.0.0.1", "::1")
    assert len(calls.sessions) == 1 and server.stats["refused"] == 0


async def test_unlisted_peer_is_closed_at_once_and_logged_without_what_it_sent() -> None:
    calls = Calls()
    with capture_logs() as logs:
        async with FastAgiServer({"amd": calls.record}, port=0,
                                 allowed_hosts=["10.20.30.40", "192.168.0.0/16"]) as server:
            async with peer(server.port) as (reader, writer):
                writer.write(SECRET_ENV)
                assert await closed_by_server(reader)
            await idle(server)
    assert calls.sessions == [] and server.stats["refused"] == 1
    refused = [entry for entry in logs if entry["event"] == "agi_peer_refused"]
    assert [r["peer"] for r in refused] == ["127.0.0.1"]
    assert "s3cret" not in repr(logs)


async def test_a_network_or_a_host_name_lets_the_peer_in() -> None:
    for allowed in (["127.0.0.0/8"], ["localhost"]):
        calls = Calls()
        async with FastAgiServer({"amd": calls.record}, port=0,
                                 allowed_hosts=allowed) as server:
            async with peer(server.port) as (reader, writer):
                writer.write(ENV)
                await eof(reader)
            await idle(server)
        assert len(calls.sessions) == 1, allowed


async def test_an_ipv4_mapped_peer_matches_its_ipv4_entry() -> None:
    peers = PeerFilter(["10.1.2.3"])
    await peers.resolve()
    assert await peers.allows("::ffff:10.1.2.3")
    assert not await peers.allows("10.1.2.4")
    assert not await peers.allows("not-an-address")


async def test_a_host_name_is_looked_up_again_when_an_unknown_peer_calls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"asterisk": "172.18.0.2"}

    async def lookup(host: str, port: Any, **_: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], 0))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", lookup)
    peers = PeerFilter(["asterisk"], refresh_s=0.0)
    await peers.resolve()
    assert await peers.allows("172.18.0.2")
    answers["asterisk"] = "172.18.0.9"  # the container came back with a new address
    assert await peers.allows("172.18.0.9")
    assert not await peers.allows("172.18.0.2")
