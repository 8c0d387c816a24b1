"""Answering machines get the message once their greeting has ended, found by talk
detection on the real channel, not by the `greeting_wait` timer; for both greetings
(about 10 and 12 s) and over AMI and ARI. Times are Asterisk's ARI timestamps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.testing.asterisk import RealAsterisk
from dialer.testing.sounds import duration
from tests.real.conftest import PhoneFactory
from tests.real.observer import AriWitness, ari_time
from tests.real.stack import Campaign, real_engine

pytestmark = pytest.mark.real_asterisk
GREETING_WAIT = 30.0  # far beyond the greetings: the timer must not be what starts the message


def only(found: list[dict[str, Any]], what: str) -> dict[str, Any]:
    assert len(found) == 1, f"{what}: {len(found)} events"
    return found[0]


def greeting_span(witness: AriWitness, attempt: str) -> tuple[float, float]:
    """When the carrier's far end (the ;2 leg) started its greeting and moved past it
    (greeting and beep played)."""
    name = only(witness.find("ChannelVarset", channel__id=attempt, variable="AMDSTATUS"),
                "AMDSTATUS")["channel"]["name"]
    far = [ev for ev in witness.find("ChannelDialplan", channel__name=name[:-1] + "2")]
    start = next(i for i, ev in enumerate(far)
                 if ev["dialplan_app_data"].startswith("dialer/greeting-"))
    return ari_time(far[start]), ari_time(far[start + 1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_voicemail_message_starts_when_the_greeting_ends_not_on_the_timer(
        asterisk: RealAsterisk, phones: PhoneFactory, ari_witness: AriWitness, sounds: Path,
        db_dsn: str, tmp_path: Path, via: str) -> None:
    await phones("agent1")
    campaign = Campaign(via=via, mode="power", machine_action="message",
                        greeting_wait=GREETING_WAIT)
    numbers = ["2125550104", "2125550105"]
    async with real_engine(asterisk, db_dsn, tmp_path, [(campaign, numbers)], ["agent1"]) as run:
        await run.wait_leads_done(90)
        rows = await run.attempts()
    for digit in (4, 5):
        row, attempt = rows[digit], str(rows[digit]["id"])
        began, ended = greeting_span(ari_witness, attempt)
        amd = ari_time(only(ari_witness.find("ChannelVarset", channel__id=attempt,
                                             variable="AMDSTATUS"), "AMDSTATUS"))
        talk_end = ari_time(only(ari_witness.find("ChannelTalkingFinished",
                                                  channel__id=attempt), "talk finished"))
        message = ari_time(only([ev for ev in ari_witness.find(
            "PlaybackStarted", playback__target_uri=f"channel:{attempt}")
            if ev["playback"]["media_uri"] == "sound:dialer/machine-message"], "message"))
        greeting = duration(sounds / f"greeting-{digit}.wav")
        print(f"{via} digit {digit}: {row['amd_cause']} AMD {amd - began:.2f} s into a "
              f"{greeting:.1f} s greeting; greeting+beep over {ended - began:.2f} s; talk "
              f"ended {talk_end - ended:.2f} s later; message {message - ended:.2f} s after "
              f"the greeting, {amd + GREETING_WAIT - message:.1f} s before the timer")
        assert (row["outcome"], row["amd_status"]) == ("machine", "MACHINE")
        assert ended - began >= greeting
        assert ended <= talk_end <= message < ended + 4.0
        assert message < amd + GREETING_WAIT - 10
