"""The FastAGI hooks of a running engine: AMD reported through AGI, and an agent who
logs in by dialling in from the softphone."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from dialer.core.agent import AgentState
from tests.integration.engine_stack import engine_stack


@pytest.mark.timeout(120)
async def test_amd_reported_through_fastagi_reaches_the_agent(db_dsn, tmp_path) -> None:
    numbers = ["2125550100", "2125550101", "2125550104"]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=2, report="agi") as run:
        await run.wait_leads_done()
        outcomes = await run.outcomes()
    assert sorted(outcomes.values()) == ["human", "human", "machine"]


async def _agi_login(port: int, agent: str, channel: str) -> None:
    """What Asterisk sends for `AGI(agi://.../agent-login,<agent>)`, then waits."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    env = (f"agi_network: yes\nagi_network_script: agent-login\n"
           f"agi_request: agi://127.0.0.1:{port}/agent-login\nagi_channel: {channel}\n"
           f"agi_uniqueid: 1795863310.99\nagi_arg_1: {agent}\n\n")
    writer.write(env.encode())
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the engine closes the socket
    writer.close()


@pytest.mark.timeout(60)
async def test_agent_dialling_in_becomes_the_nailed_up_session(db_dsn, tmp_path) -> None:
    async with engine_stack(db_dsn, tmp_path, ["2125550105"], agents=0) as run:
        await _agi_login(run.app.agi_port, "agent3", "PJSIP/agent3-0000002a")
        async with asyncio.timeout(5):
            while "agent3" not in run.parts.service.engine.agents:
                await asyncio.sleep(0.02)
        assert run.parts.service.engine.agents["agent3"].pause_reason == "phone"
        assert run.sim.channel_count() == 0  # the engine did not call the phone
        channel = f"dialin-{uuid.uuid4()}"
        params = {"endpoint": "PJSIP/agent3", "app": "dialer", "appArgs": "agent,agent3",
                  "channelId": channel, "api_key": "dialer:dialer-secret"}
        # what the dialplan's Stasis(dialer,agent,agent3) does after the AGI step
        async with aiohttp.ClientSession() as http, \
                http.post(f"{run.sim.ari_url}/channels", params=params) as r:
            assert r.status == 200, await r.text()
        async with asyncio.timeout(10):
            while run.parts.service.engine.agents["agent3"].state is not AgentState.READY \
                    or "agent3" not in run.parts.service.executor.lines.lines:
                await asyncio.sleep(0.02)
        assert run.parts.service.executor.lines.lines["agent3"].channel == channel
