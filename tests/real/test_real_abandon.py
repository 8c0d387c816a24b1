"""A live answer with no agent free: the safe-harbor message starts within 2 s of AMD's
verdict, and the opt-out key pressed by the callee blocks the number at once. Times
are Asterisk's own (ARI event timestamps seen by an independent witness)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.testing.asterisk import RealAsterisk
from tests.real.conftest import PhoneFactory
from tests.real.observer import AriWitness, ari_time
from tests.real.stack import Campaign, RealRun, real_engine

pytestmark = pytest.mark.real_asterisk
VIA = ["ami", "ari"]


async def pause_once_dialing(run: RealRun, agent: str) -> None:
    """The only agent goes on a break right after the engine placed the call for it."""
    await run.until(lambda: bool(run.parts.service.engine.calls), 20, "a call placed")
    run.parts.service.feed(e.AgentPause(agent, "coffee"))
    await run.until(lambda: run.agent_state(agent) is AgentState.PAUSED, 5, "agent paused")


def amd_verdict_at(witness: AriWitness, channel: str) -> float:
    [ev] = witness.find("ChannelVarset", channel__id=channel, variable="AMDSTATUS")
    return ari_time(ev)


def playback_started_at(witness: AriWitness, channel: str, media: str) -> float:
    found = [ev for ev in witness.find("PlaybackStarted", playback__target_uri=f"channel:{channel}")
             if ev["playback"]["media_uri"] == f"sound:{media}"]
    assert len(found) == 1, [ev["playback"] for ev in witness.find("PlaybackStarted")]
    return ari_time(found[0])


@pytest.mark.timeout(90)
@pytest.mark.parametrize("via", VIA)
async def test_safe_harbor_starts_within_two_seconds_of_the_amd_verdict(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness, db_dsn: str,
        tmp_path: Path, via: str) -> None:
    asterisk.set_global("SIM_TALK", "6")
    await phones("agent1")
    async with real_engine(asterisk, db_dsn, tmp_path, [(Campaign(via=via), ["2125550102"])],
                           ["agent1"]) as run:
        await pause_once_dialing(run, "agent1")
        await run.wait_leads_done(60)
        row = (await run.attempts())[2]
    attempt = str(row["id"])
    latency = (playback_started_at(ari_witness, attempt, "dialer/safe-harbor")
               - amd_verdict_at(ari_witness, attempt))
    print(f"{via}: AMD {row['amd_cause']}, safe harbor {latency * 1000:.0f} ms after AMD")
    assert (row["outcome"], row["abandoned"], row["live_answer"]) == ("abandoned", True, True)
    assert row["agent_id"] is None
    assert 0 < latency < 2.0


@pytest.mark.timeout(90)
@pytest.mark.parametrize("via", VIA)
async def test_opt_out_key_from_the_callee_blocks_the_number_at_once(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness, db_dsn: str,
        tmp_path: Path, via: str) -> None:
    asterisk.set_global("SIM_DTMF", "9")  # the person presses 9 four seconds after hello
    asterisk.set_global("SIM_TALK", "4")
    await phones("agent1")
    async with real_engine(asterisk, db_dsn, tmp_path, [(Campaign(via=via), ["2125550103"])],
                           ["agent1"]) as run:
        await pause_once_dialing(run, "agent1")
        rules = run.parts.dialers["real"].setup.rules

        def blocked() -> bool:
            return "dnc_internal" in run.parts.compliance.check(12125550103, rules).reasons

        await run.until(lambda: bool(ari_witness.find("ChannelDtmfReceived", digit="9")), 30,
                        "the callee's 9")
        pressed = run.now()
        await run.until(blocked, 5, "the number blocked")
        block_delay = run.now() - pressed
        await run.wait_leads_done(60)
        row = (await run.attempts())[3]
        opt_outs = await run.conn.fetch("SELECT phone, channel, attempt_id FROM opt_outs")
    attempt = str(row["id"])
    [dtmf] = ari_witness.find("ChannelDtmfReceived", channel__id=attempt, digit="9")
    confirm = playback_started_at(ari_witness, attempt, "dialer/optout-confirmed")
    print(f"{via}: blocked {block_delay * 1000:.0f} ms after the key reached the witness; "
          f"confirmation {(confirm - ari_time(dtmf)) * 1000:.0f} ms after the key")
    assert [(r["phone"], r["channel"], str(r["attempt_id"])) for r in opt_outs] == [
        (12125550103, "keypress", attempt)]
    assert block_delay < 1.0
    assert (row["outcome"], row["abandoned"]) == ("abandoned", True)
