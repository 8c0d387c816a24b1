"""Agents on real SIP phones (baresip): a live answer reaches the agent's phone and the
agent hears the customer; an agent logs in by dialling *55 from the phone."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from dialer.core.agent import AgentState
from dialer.testing.asterisk import RealAsterisk
from tests.real.audio import read_pcm16, speech_spans
from tests.real.conftest import PhoneFactory
from tests.real.observer import AriWitness, ari_time
from tests.real.stack import Campaign, load_leads, real_engine

pytestmark = pytest.mark.real_asterisk
VIA = ["ami", "ari"]


def udp_sockets_of(pid: int) -> list[str]:
    """Local addresses of the UDP sockets process ``pid`` has open."""
    out = subprocess.run(["ss", "-Hunap"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]


def rtp_sockets(ast: RealAsterisk) -> list[str]:
    """Asterisk's sockets in its RTP port range (the agent's call is up)."""
    addrs = udp_sockets_of(ast.proc.pid if ast.proc else 0)
    port = lambda addr: int(addr.rsplit(":", 1)[1])  # noqa: E731
    return [a for a in addrs if ast.ports.rtp_start <= port(a) <= ast.ports.rtp_end]


def bridge_join(witness: AriWitness, agent: str) -> float:
    """Asterisk's time when a customer channel entered the agent's holding bridge."""
    joins = [ev for ev in witness.find("ChannelEnteredBridge")
             if ev["bridge"]["id"].startswith(f"agent-{agent}-")
             and not ev["channel"]["id"].startswith("agent-")]
    assert len(joins) == 1, joins
    return ari_time(joins[0])


@pytest.mark.timeout(90)
@pytest.mark.parametrize("via", VIA)
async def test_live_answer_reaches_the_sip_agent_who_hears_the_customer(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness,
        sounds: Path, db_dsn: str, tmp_path: Path, via: str) -> None:
    asterisk.set_global("SIM_TALK", "6")
    [phone] = await phones("agent1")
    campaign = Campaign(via=via)
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, ["2125550101"])],
                           ["agent1"]) as run:
        rtp = rtp_sockets(asterisk)
        await run.wait_leads_done(60)
        rows = await run.attempts()
    row = rows[1]
    assert (row["outcome"], row["amd_status"]) == ("human", "HUMAN")
    assert row["bridged_at"] and row["agent_id"]
    joined = bridge_join(ari_witness, "agent1")
    [received] = phone.received_files()
    spans = speech_spans(read_pcm16(received))
    print(f"{via}: customer joined the bridge at {joined:.3f}; speech heard {spans}")
    hello = sum(end - start for start, end in speech_spans(read_pcm16(sounds / "hello-1.wav")))
    heard = sum(end - start for start, end in spans)
    assert spans, "the agent's phone received no speech"
    assert abs(heard - hello) <= 0.15, (heard, hello)  # the customer's "Hello?", whole
    assert rtp and all(addr.startswith("127.0.0.1:") for addr in rtp), rtp


@pytest.mark.timeout(90)
@pytest.mark.parametrize("via", VIA)
async def test_agent_logs_in_by_dialling_star55_and_takes_the_next_call(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path,
        via: str) -> None:
    asterisk.set_global("SIM_TALK", "4")
    [phone] = await phones("agent1")
    campaign = Campaign(via=via)
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, ["2125550102"])]) as run:
        assert run.agent_state("agent1") is None
        await phone.dial(f"sip:*55@127.0.0.1:{asterisk.ports.sip}")
        await run.until(lambda: run.agent_state("agent1") is AgentState.READY, 15,
                        "agent1 ready after *55")
        channels = await asyncio.to_thread(asterisk.cli, "core show channels concise")
        await run.wait_leads_done(60)
        rows = await run.attempts()
    assert re.search(r"^PJSIP/agent1-[0-9a-f]+!dialer-agents-in!\*55!", channels, re.M), channels
    assert rows[2]["outcome"] == "human" and rows[2]["agent_id"]


@pytest.mark.timeout(60)
async def test_engine_exit_leaves_no_agent_channel_or_bridge_behind(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path) -> None:
    await phones("agent1", "agent2")
    async with real_engine(asterisk, db_dsn, tmp_path, [(Campaign(), [])],
                           ["agent1", "agent2"]):
        up = await asyncio.to_thread(asterisk.cli, "core show channels concise")
    await asyncio.sleep(2.0)
    left = await asyncio.to_thread(asterisk.cli, "core show channels concise")
    bridges = await asyncio.to_thread(asterisk.cli, "bridge show all")
    print(f"while running:\n{up}after exit:\n{left}{bridges}")
    assert up.count("PJSIP/agent") == 2
    assert left.strip() == ""
    assert "agent-agent1" not in bridges and "agent-agent2" not in bridges


@pytest.mark.timeout(90)
async def test_agent_takes_calls_again_after_asterisk_restarts(
        asterisk: RealAsterisk, phones: PhoneFactory, db_dsn: str, tmp_path: Path) -> None:
    asterisk.set_global("SIM_TALK", "4")
    await phones("agent1")
    campaign = Campaign(name="after-restart")
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, [])], ["agent1"]) as run:
        await asyncio.to_thread(asterisk.restart)
        asterisk.set_global("SIM_RING", "2")
        asterisk.set_global("SIM_TALK", "4")
        await run.until(lambda: all(run.parts.tel.connected.values()), 30, "reconnected")
        await run.until(lambda: run.agent_state("agent1") is AgentState.READY, 20,
                        f"agent1 ready again (is {run.agent_state('agent1')})")
        await load_leads(run, tmp_path, campaign.name, ["2125550100"])
        await run.wait_leads_done(45)
        rows = await run.attempts()
        channels = await asyncio.to_thread(asterisk.cli, "core show channels concise")
    print(f"after restart: {dict(rows[0]) if 0 in rows else None}; agent1 "
          f"{run.agent_state('agent1')}; channels:\n{channels}")
    assert rows[0]["outcome"] == "human" and rows[0]["agent_id"]
