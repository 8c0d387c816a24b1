"""Simulated agents and called parties over ARI: talk, wrap-up hook, a person left
alone, opt-out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dialer.sim.model import DigitModel
from dialer.sim.server import SimAsterisk

KEY = {"api_key": "dialer:dialer-secret"}


class Ari:
    def __init__(self, sim: SimAsterisk, session: aiohttp.ClientSession) -> None:
        self.sim, self.session = sim, session
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            event = json.loads(msg.data)
            self.seen.append(event)
            self.events.put_nowait(event)

    async def call(self, method: str, path: str, **params: str) -> Any:
        async with self.session.request(method, self.sim.ari_url + path,
                                        params={**params, **KEY}) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json() if resp.status != 204 else None

    async def wait(self, kind: str, channel: str | None = None, timeout: float = 5) -> Any:
        async def find() -> dict[str, Any]:
            while True:
                e = await self.events.get()
                if e["type"] == kind and (channel is None or e.get("channel", {}).get("id")
                                          == channel):
                    return e
        return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def wrapups() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
async def ari(wrapups: list[tuple[str, dict[str, Any]]]) -> AsyncIterator[Ari]:
    async def hook(agent: str, info: dict[str, Any]) -> None:
        wrapups.append((agent, info))

    model = DigitModel(11, optout_digits="2", wrapup_s=2.0)
    sim = SimAsterisk(model=model, speed=100, on_wrapup_done=hook)
    async with sim.running(ami_port=None, ari_port=0), aiohttp.ClientSession() as session:
        client = Ari(sim, session)
        ws = await session.ws_connect(sim.ari_url + "/events", params={"app": "dialer", **KEY})
        task = asyncio.get_running_loop().create_task(client.listen(ws))
        yield client
        await ws.close()
        await task
        assert sim.errors == []


async def test_agent_talks_until_the_customer_hangs_up_then_wraps_up(
        ari: Ari, wrapups: list[tuple[str, dict[str, Any]]]) -> None:
    await ari.call("POST", "/channels", endpoint="PJSIP/agent1", app="dialer",
                   appArgs="agent", channelId="agent-1")
    await ari.wait("StasisStart", "agent-1")
    await ari.call("POST", "/bridges", bridgeId="b-1", type="mixing")
    await ari.call("POST", "/bridges/b-1/addChannel", channel="agent-1")
    await ari.call("POST", "/channels", endpoint="Local/5550101@dialer-test-carrier",
                   app="dialer", channelId="cust-1", otherChannelId="cust-1-far")
    await ari.wait("StasisStart", "cust-1")
    await ari.call("POST", "/bridges/b-1/addChannel", channel="cust-1")
    await ari.wait("ChannelLeftBridge", "cust-1", timeout=5)
    await ari.wait("ChannelDestroyed", "cust-1")
    for _ in range(100):
        if wrapups:
            break
        await asyncio.sleep(0.01)
    assert [w[0] for w in wrapups] == ["agent1"]
    assert wrapups[0][1]["customer_id"] == "cust-1"
    agent = await ari.call("GET", "/channels/agent-1")
    assert agent["state"] == "Up"


async def test_a_human_nobody_talks_to_stays_20_to_60_s_like_the_carriers_person(
        ari: Ari) -> None:
    await ari.call("POST", "/channels", endpoint="Local/5550100@carrier-sim", app="dialer",
                   channelId="lonely")
    await ari.wait("StasisStart", "lonely")
    loop = asyncio.get_running_loop()
    answered = loop.time()
    destroyed = await ari.wait("ChannelDestroyed", "lonely")
    stayed = (loop.time() - answered) * ari.sim.speed
    assert destroyed["cause"] == 16
    assert 20.0 <= stayed <= 62.0  # dialer-test-person: RAND(20,60) and the two hellos


async def test_a_human_offered_the_opt_out_presses_the_key_after_the_message(ari: Ari) -> None:
    await ari.call("POST", "/channels", endpoint="Local/5550102@carrier-sim", app="dialer",
                   channelId="optout")
    await ari.wait("StasisStart", "optout")
    await ari.call("POST", "/channels/optout/play", media="sound:safe-harbor")
    await ari.wait("PlaybackFinished")
    dtmf = await ari.wait("ChannelDtmfReceived", "optout")
    assert dtmf["digit"] == "9"


async def test_an_agent_softphone_answers_at_once_and_stays_up(ari: Ari) -> None:
    await ari.call("POST", "/channels", endpoint="Local/agent7@agents", app="dialer",
                   channelId="a7", otherChannelId="a7-phone")
    start = await ari.wait("StasisStart", "a7")
    assert start["channel"]["state"] == "Up"
    await asyncio.sleep(0.3)
    assert (await ari.call("GET", "/channels/a7"))["state"] == "Up"
