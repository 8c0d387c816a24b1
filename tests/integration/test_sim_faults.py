"""The fault API the engine's tests use: drops, stalls, refusals and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

KEY = {"api_key": "dialer:dialer-secret"}


@pytest.fixture
async def sim() -> AsyncIterator[SimAsterisk]:
    async with SimAsterisk(seed=9, speed=20).running() as s:
        yield s


async def test_drop_ami_cuts_every_session_and_new_logins_still_work(sim: SimAsterisk) -> None:
    first = await AmiProbe.login(sim.host, sim.ami_port)
    second = await AmiProbe.login(sim.host, sim.ami_port)
    assert sim.drop_ami() == 2
    for probe in (first, second):
        await probe.read_until_closed(2.0)
        assert probe.closed
        await probe.close()
    again = await AmiProbe.login(sim.host, sim.ami_port)
    assert (await again.action("Ping"))["Ping"] == "Pong"
    await again.close()


async def test_stall_holds_replies_until_it_ends(sim: SimAsterisk) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    sim.stall(0.4)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await probe.action("Ping")
    assert loop.time() - start >= 0.35
    await probe.close()


async def test_refused_connections_come_back_when_resumed(sim: SimAsterisk) -> None:
    await sim.refuse_connections()
    with pytest.raises(OSError):
        await AmiProbe.connect(sim.host, sim.ami_port)
    await sim.refuse_connections(False)
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    assert (await probe.action("Ping"))["Ping"] == "Pong"
    await probe.close()


async def test_restart_loses_every_channel_and_connection(sim: SimAsterisk) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    await probe.action("Originate", Channel="Local/5550107@carrier-sim", Context="dialer-amd",
                       Exten="s", Async="true")
    await probe.wait(lambda m: m.event == "DialState")
    assert sim.channel_count() == 2
    await sim.restart()
    await probe.read_until_closed(2.0)
    assert probe.closed
    await probe.close()
    assert sim.channel_count() == 0
    fresh = await AmiProbe.login(sim.host, sim.ami_port)
    await fresh.action("CoreShowChannels")
    done = await fresh.wait(lambda m: m.event == "CoreShowChannelsComplete")
    assert done["ListItems"] == "0"
    await fresh.close()


async def test_drop_ari_websockets_closes_the_event_stream(sim: SimAsterisk) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.ari_url + "/events", params={"app": "dialer", **KEY})
        await asyncio.sleep(0.05)
        assert sim.drop_ari_websockets() == 1
        msg = await asyncio.wait_for(ws.receive(), 2)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR)
        await ws.close()


async def test_speed_factor_scales_every_duration() -> None:
    async with SimAsterisk(seed=1, speed=100).running(ari_port=None) as sim:
        probe = await AmiProbe.login(sim.host, sim.ami_port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await probe.action("Originate", Channel="Local/5550107@carrier-sim",
                           Context="dialer-amd", Exten="s", Async="true", Timeout="30000")
        result = await probe.wait(lambda m: m.event == "OriginateResponse")
        assert result["Reason"] == "3"  # 30 s of ringing at speed 100 took well under 5 s
        assert loop.time() - start < 5
        await probe.close()
