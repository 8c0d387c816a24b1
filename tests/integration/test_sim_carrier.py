"""The simulated test carrier keeps the timings of the real one (dialer.sim.carrier.SHIPPED,
measured on Asterisk 22.10.1 with the shipped configuration; the real-Asterisk tier checks
the same figures in tests/real/test_real_carrier_timing.py): AMD's verdicts and their
timing, the person's keys, second hello and hang-up, and talk detection on a machine.

Times are simulated seconds after the answer (StasisStart of an `app=` originate)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dialer.sim.carrier import SHIPPED
from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

SPEED = 10.0
SLACK_S = 0.4  # simulated seconds: 40 ms of event-loop jitter at this speed
KEY = {"api_key": "dialer:dialer-secret"}


class Timeline:
    """ARI events of one app, each with its arrival time in simulated seconds."""

    def __init__(self, sim: SimAsterisk, session: aiohttp.ClientSession) -> None:
        self.sim, self.session = sim, session
        self.events: list[tuple[float, dict[str, Any]]] = []

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        async for msg in ws:
            self.events.append((loop.time() * SPEED, json.loads(msg.data)))

    async def originate(self, number: str, cid: str, **variables: str) -> None:
        params = {"endpoint": f"Local/{number}@dialer-test-carrier", "app": "dialer",
                  "channelId": cid, "formats": "slin", **KEY}
        body = {"variables": {"SIM_RING": "1", **variables}}
        async with self.session.post(self.sim.ari_url + "/channels", params=params,
                                     json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def set_var(self, cid: str, name: str) -> None:
        async with self.session.post(f"{self.sim.ari_url}/channels/{cid}/variable",
                                     params={"variable": name, "value": "", **KEY}) as resp:
            assert resp.status == 204, await resp.text()

    async def when(self, kind: str, cid: str, timeout: float = 10.0) -> float:
        """Simulated seconds between the channel's StasisStart and its first ``kind``."""
        async with asyncio.timeout(timeout):
            while True:
                found = [t for t, ev in self.events if ev["type"] in ("StasisStart", kind)
                         and ev.get("channel", {}).get("id") == cid]
                if len(found) == 2 or (kind == "StasisStart" and found):
                    return found[-1] - found[0]
                await asyncio.sleep(0.005)

    def first(self, kind: str, cid: str) -> dict[str, Any]:
        return next(ev for _, ev in self.events
                    if ev["type"] == kind and ev.get("channel", {}).get("id") == cid)


@pytest.fixture
async def carrier() -> AsyncIterator[Timeline]:
    sim = SimAsterisk(seed=5, speed=SPEED)
    async with sim.running(ami_port=None, ari_port=0), aiohttp.ClientSession() as session:
        line = Timeline(sim, session)
        ws = await session.ws_connect(sim.ari_url + "/events", params={"app": "dialer", **KEY})
        task = asyncio.get_running_loop().create_task(line.listen(ws))
        yield line
        await ws.close()
        await task
        assert sim.errors == []


async def test_the_person_presses_a_scripted_key_half_a_second_hello_and_four_seconds_in(
        carrier: Timeline) -> None:
    await carrier.originate("5550101", "keys", SIM_DTMF="9", SIM_TALK="6")
    pressed = await carrier.when("ChannelDtmfReceived", "keys")
    assert carrier.first("ChannelDtmfReceived", "keys")["digit"] == "9"
    assert pressed == pytest.approx(0.5 + 0.635 + 4.0 + 0.2, abs=SLACK_S)


async def test_a_person_with_sim_talk_says_hello_twice_and_hangs_up_on_the_script(
        carrier: Timeline) -> None:
    await carrier.originate("5550100", "talk", SIM_TALK="4")
    await carrier.when("StasisStart", "talk")
    await carrier.set_var("talk", "TALK_DETECT(set)")
    started = await carrier.when("ChannelTalkingStarted", "talk")
    gone = await carrier.when("ChannelDestroyed", "talk")
    assert started == pytest.approx(0.55, abs=SLACK_S)  # the first "Hello?"
    # the second "Hello?" 2 s after the first keeps the talking on; the person hangs up
    # before 2.48 s of silence follow it
    assert not [ev for _, ev in carrier.events if ev["type"] == "ChannelTalkingFinished"]
    assert gone == pytest.approx(0.5 + 4.27, abs=SLACK_S)


async def test_talk_detection_ends_2_48_s_after_a_machines_beep(carrier: Timeline) -> None:
    await carrier.originate("5550104", "machine")
    await carrier.when("StasisStart", "machine")
    await carrier.set_var("machine", "TALK_DETECT(set)")
    finished = await carrier.when("ChannelTalkingFinished", "machine", timeout=15)
    beep_over = SHIPPED.answer_wait_s + 9.89 + SHIPPED.beep_s
    assert finished == pytest.approx(beep_over + 2.48, abs=SLACK_S)
    duration = carrier.first("ChannelTalkingFinished", "machine")["duration"]
    assert duration == pytest.approx((beep_over - SHIPPED.answer_wait_s) * 1000,
                                     abs=SLACK_S * 1000)


@pytest.mark.parametrize(("digit", "status", "cause", "ms"), [
    ("2", "HUMAN", "HUMAN-712-700", 1580), ("4", "MACHINE", "LONGGREETING-1500-1500", 2600),
    ("5", "MACHINE", "LONGGREETING-1500-1500", 2260)])
async def test_amd_gives_the_shipped_configs_verdict_at_its_time(
        digit: str, status: str, cause: str, ms: int) -> None:
    async with SimAsterisk(seed=5, speed=SPEED).running(ari_port=None) as sim:
        probe = await AmiProbe.login(sim.host, sim.ami_port)
        await probe.action("Originate", ("Channel", f"Local/555010{digit}@dialer-test-carrier"),
                           ("Context", "dialer-amd"), ("Exten", "s"), ("Priority", "1"),
                           ("Async", "true"),
                           ("Variable", "DIALER_MODE=event,DIALER_HOLD=1,SIM_RING=1"))
        event = await probe.wait(lambda m: m.event == "UserEvent", timeout=10)
        await probe.close()
    assert (event["AMDStatus"], event["AMDCause"]) == (status, cause)
    assert int(event["AMDMs"]) == pytest.approx(ms, abs=SLACK_S * 1000)
