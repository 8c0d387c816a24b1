"""The simulated AMI server: login, actions and the outcome of each called-party digit."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from dialer.adapters.ami.protocol import Message
from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

SPEED = 50.0


@pytest.fixture
async def sim() -> AsyncIterator[SimAsterisk]:
    async with SimAsterisk(seed=7, speed=SPEED, login_fail_delay_s=0.3).running(
            ami_port=0, ari_port=None) as s:
        yield s


async def logged_in(sim: SimAsterisk) -> AmiProbe:
    return await AmiProbe.login(sim.host, sim.ami_port)


def originate(number: str, **extra: str) -> dict[str, str]:
    return {"Channel": f"Local/{number}@carrier-sim", "Context": "dialer-amd", "Exten": "s",
            "Priority": "1", "Async": "true", "Timeout": "30000", **extra}


async def test_login_is_followed_by_fully_booted_and_ping_answers_pong(sim: SimAsterisk) -> None:
    probe = await AmiProbe.connect(sim.host, sim.ami_port)
    reply = await probe.action("Login", Username="dialer", Secret="dialer-secret")
    assert reply["Message"] == "Authentication accepted"
    await probe.wait(lambda m: m.event == "FullyBooted")
    await probe.wait(lambda m: m.event == "SuccessfulAuth")
    pong = await probe.action("Ping")
    assert (pong["Response"], pong["Ping"]) == ("Success", "Pong")
    await probe.close()


async def test_md5_challenge_login_is_accepted(sim: SimAsterisk) -> None:
    probe = await AmiProbe.connect(sim.host, sim.ami_port)
    challenge = (await probe.action("Challenge", AuthType="MD5"))["Challenge"]
    key = hashlib.md5((challenge + "dialer-secret").encode()).hexdigest()
    reply = await probe.action("Login", AuthType="MD5", Username="dialer", Key=key)
    assert reply["Response"] == "Success"
    await probe.close()


async def test_wrong_secret_is_refused_after_a_delay_and_the_socket_closed(
        sim: SimAsterisk) -> None:
    probe = await AmiProbe.connect(sim.host, sim.ami_port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    reply = await probe.action("Login", Username="dialer", Secret="wrong")
    assert (reply["Response"], reply["Message"]) == ("Error", "Authentication failed")
    assert loop.time() - start >= 0.25
    await probe.read_until_closed(2.0)
    assert probe.closed
    await probe.close()


async def test_every_action_before_login_is_permission_denied(sim: SimAsterisk) -> None:
    probe = await AmiProbe.connect(sim.host, sim.ami_port)
    for action in ("Ping", "Originate", "CoreShowChannels"):
        reply = await probe.action(action)
        assert (reply["Response"], reply["Message"]) == ("Error", "Permission denied")
    await probe.close()


async def test_logoff_says_goodbye_and_closes(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    reply = await probe.action("Logoff")
    assert (reply["Response"], reply["Message"]) == ("Goodbye", "Thanks for all the fish.")
    await probe.read_until_closed(2.0)
    assert probe.closed
    await probe.close()


async def test_unknown_action_and_message_without_action_get_errors(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    reply = await probe.action("NoSuchThing")
    assert reply["Message"].startswith("Invalid/unknown command: NoSuchThing.")
    probe.send(("Foo", "bar"), ("ActionID", "no-action"))
    reply = await probe.wait(lambda m: m.action_id == "no-action")
    assert reply["Response"] == "Error"
    assert (await probe.action("Ping"))["Ping"] == "Pong"
    await probe.close()


@pytest.mark.parametrize(("digit", "response", "reason"), [
    ("0", "Success", "4"), ("4", "Success", "4"), ("6", "Failure", "5"),
    ("7", "Failure", "3"), ("8", "Failure", "8"), ("9", "Success", "4")])
async def test_async_originate_reports_the_reason_of_each_last_digit(
        sim: SimAsterisk, digit: str, response: str, reason: str) -> None:
    probe = await logged_in(sim)
    queued = await probe.action("Originate", **originate(f"555010{digit}"))
    assert queued["Message"] == "Originate successfully queued"
    aid = queued.action_id
    result = await probe.wait(lambda m: m.event == "OriginateResponse" and m.action_id == aid)
    assert (result["Response"], result["Reason"]) == (response, reason)
    if response == "Failure":
        assert result["Channel"] == f"Local/555010{digit}@carrier-sim"
        assert result["Uniqueid"] == "<unknown>"
    await probe.close()


@pytest.mark.parametrize(("digit", "status", "cause"), [
    ("1", "HUMAN", "HUMAN-712-700"), ("5", "MACHINE", "LONGGREETING-1500-1500")])
async def test_amd_event_mode_sends_the_amd_result_as_a_user_event(
        sim: SimAsterisk, digit: str, status: str, cause: str) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", **originate(f"555010{digit}"),
                       Variable="DIALER_MODE=event,DIALER_CALL_ID=c-1,DIALER_HOLD=1")
    event = await probe.wait(lambda m: m.event == "UserEvent")
    assert (event["UserEvent"], event["AMDStatus"], event["AMDCause"]) == (
        "AMDResult", status, cause)
    assert event["DialerCallId"] == "c-1"
    hangups = [await probe.wait(lambda m: m.event == "Hangup") for _ in range(2)]
    assert {h["Cause"] for h in hangups} == {"16"}
    await probe.close()


async def test_far_end_hanging_up_during_amd_gives_amdstatus_hangup_and_no_user_event(
        sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", **originate("5550109"), Variable="DIALER_MODE=event")
    status = await probe.wait(lambda m: m.event == "VarSet" and m["Variable"] == "AMDSTATUS")
    assert status["Value"] == "HANGUP"
    await probe.wait(lambda m: m.event == "Hangup" and m["Channel"].endswith(";1"))
    assert probe.events("UserEvent") == []
    await probe.close()


async def test_busy_originated_leg_hangs_up_with_cause_zero_and_the_far_leg_17(
        sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", **originate("5550106"))
    one = await probe.wait(lambda m: m.event == "Hangup" and m["Channel"].endswith(";1"))
    two = await probe.wait(lambda m: m.event == "Hangup" and m["Channel"].endswith(";2"))
    assert (one["Cause"], one["Cause-txt"]) == ("0", "Unknown")
    assert (two["Cause"], two["Cause-txt"]) == ("17", "User busy")
    dial_end = await probe.wait(lambda m: m.event == "DialEnd")
    assert dial_end["DialStatus"] == "BUSY"
    assert "Channel" not in dial_end
    await probe.close()


async def test_synchronous_originate_to_a_busy_number_says_originate_failed(
        sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    headers = originate("5550106")
    del headers["Async"]
    reply = await probe.action("Originate", **headers)
    assert (reply["Response"], reply["Message"]) == ("Error", "Originate failed")
    await probe.close()


async def test_repeated_and_comma_separated_variables_reach_both_local_halves(
        sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", ("Variable", "A=1"), ("Variable", "B=2,C=3"),
                       **originate("5550107"))
    await probe.wait(lambda m: m.event == "LocalBridge")
    sets = [(m["Channel"][-2:], m["Variable"], m["Value"]) for m in probe.events("VarSet")]
    assert sets == [(";1", "C", "3"), (";1", "B", "2"), (";1", "A", "1"),
                    (";2", "A", "1"), (";2", "B", "2"), (";2", "C", "3")]
    await probe.close()


async def test_channel_id_and_other_channel_id_become_the_uniqueids(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", **originate("5550107"), ChannelId="att-1",
                       OtherChannelId="att-1-far")
    created = [await probe.wait(lambda m: m.event == "Newchannel") for _ in range(2)]
    assert [m["Uniqueid"] for m in created] == ["att-1", "att-1-far"]
    assert created[1]["Linkedid"] == "att-1"
    await probe.close()


async def test_originate_to_a_missing_extension_fails_before_dialing(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    reply = await probe.action("Originate", **originate("5550100", Exten="nope"))
    assert reply["Message"] == "Extension does not exist."
    assert probe.events("Newchannel") == []
    await probe.close()


async def test_unknown_technology_is_queued_then_fails_with_reason_zero(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    reply = await probe.action("Originate", **originate("x", Channel="Bogus/123"))
    result = await probe.wait(lambda m: m.event == "OriginateResponse")
    assert reply["Message"] == "Originate successfully queued"
    assert (result["Response"], result["Reason"], result["Channel"]) == (
        "Failure", "0", "Bogus/123")
    await probe.close()


async def test_getvar_setvar_status_and_hangup_act_on_a_live_channel(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("Originate", **originate("5550107"), Variable="X=1")
    name = (await probe.wait(lambda m: m.event == "Newchannel"))["Channel"]
    assert (await probe.action("Getvar", Channel=name, Variable="X"))["Value"] == "1"
    assert (await probe.action("Setvar", Channel=name, Variable="Y", Value="2"))[
        "Message"] == "Variable Set"
    assert (await probe.action("Getvar", Channel=name, Variable="Y"))["Value"] == "2"
    await probe.action("Status", Channel=name)
    status = await probe.wait(lambda m: m.event == "Status")
    assert status["Channel"] == name
    listing = await probe.action("CoreShowChannels")
    assert listing["EventList"] == "start"
    done = await probe.wait(lambda m: m.event == "CoreShowChannelsComplete")
    assert done["ListItems"] == "2"
    assert (await probe.action("Hangup", Channel=name))["Message"] == "Channel Hungup"
    await probe.wait(lambda m: m.event == "Hangup" and m["Channel"] == name)
    assert sim.channel_count() == 0
    await probe.close()


async def test_events_off_silences_the_stream_until_events_on(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    assert (await probe.action("Events", EventMask="off"))["Events"] == "Off"
    await probe.action("Originate", **originate("5550106"))
    await asyncio.sleep(0.2)
    assert probe.events("Newchannel") == []
    assert (await probe.action("Events", EventMask="on"))["Events"] == "On"
    await probe.action("Originate", **originate("5550106"))
    await probe.wait(lambda m: m.event == "Newchannel")
    await probe.close()


async def test_every_session_sees_every_event(sim: SimAsterisk) -> None:
    first, second = await logged_in(sim), await logged_in(sim)
    await first.action("Originate", **originate("5550106"))
    for probe in (first, second):
        await probe.wait(lambda m: m.event == "OriginateResponse")
        await probe.close()


async def test_user_event_action_is_broadcast(sim: SimAsterisk) -> None:
    probe = await logged_in(sim)
    await probe.action("UserEvent", UserEvent="Ping2", Foo="bar")
    event: Message = await probe.wait(lambda m: m.event == "UserEvent")
    assert (event["UserEvent"], event["Foo"]) == ("Ping2", "bar")
    await probe.close()
