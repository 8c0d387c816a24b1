"""The simulator's model of the test carrier (dialer.sim.carrier.SHIPPED) against the real
one: calls placed by hand over AMI into `dialer-amd` (event mode, no engine), timed by an
AMI witness from the near end's answer. AMD's verdicts and times, the person's second
"Hello?", keys and hang-up, talk detection on a machine, and a person who hangs up during
AMD must match the profile the simulator plays."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from dialer.sim.carrier import SHIPPED, machine_speech, person_script, talk_detected
from dialer.testing.asterisk import RealAsterisk
from tests.real.observer import AmiWitness, Headers

pytestmark = pytest.mark.real_asterisk
CLOSE_S = 0.15  # the profile rounds; Asterisk repeats its timings within 20 ms
CARRIER = "dialer-test-carrier"


@dataclass(frozen=True)
class Call:
    number: str
    variables: str = ""
    hold: int = 15
    talk_detect: bool = False

    @property
    def id(self) -> str:
        return f"timing-{self.number}"


CALLS = (Call("5550100", "SIM_TALK=4", hold=6), Call("5550101", "SIM_TALK=6,SIM_DTMF=12"),
         Call("5550104", hold=12, talk_detect=True), Call("5550105", hold=1), Call("5550109"))


def place(witness: AmiWitness, call: Call) -> None:
    variables = f"DIALER_MODE=event,DIALER_HOLD={call.hold}" + (
        f",{call.variables}" if call.variables else "")
    witness.send("Originate", ("Channel", f"Local/{call.number}@{CARRIER}"),
                 ("Context", "dialer-amd"), ("Exten", "s"), ("Priority", "1"),
                 ("Async", "true"), ("ChannelId", call.id),
                 ("OtherChannelId", f"{call.id}-far"), ("Variable", variables))


class Seen:
    """One call's events, in seconds after its answer."""

    def __init__(self, witness: AmiWitness, call: Call) -> None:
        self.witness, self.call = witness, call
        [(self.answer, _)] = witness.find("Newstate", Uniqueid=call.id, ChannelStateDesc="Up")

    def at(self, event: str, far: bool = False, **match: str) -> list[tuple[float, Headers]]:
        uid = f"{self.call.id}-far" if far else self.call.id
        return [(t - self.answer, h) for t, h in self.witness.find(event, Uniqueid=uid, **match)]

    def var(self, name: str) -> tuple[float, str]:
        [(t, h)] = self.at("VarSet", Variable=name)
        return t, h["Value"]

    def played(self, media: str) -> list[float]:
        return [t for t, h in self.at("Newexten", far=True, Application="Playback")
                if h.get("AppData", "").startswith(media)]

    def after_playback(self, media: str) -> float:
        """When the far end moved on from the Playback of ``media``."""
        steps = self.at("Newexten", far=True)
        i = next(i for i, (_, h) in enumerate(steps) if h.get("AppData", "").startswith(media))
        return steps[i + 1][0]


async def run_calls(witness: AmiWitness) -> None:
    """Place the calls, set TALK_DETECT right after AMD where asked, wait for the end."""
    for call in CALLS:
        place(witness, call)
    pending = {c.id for c in CALLS if c.talk_detect}
    async with asyncio.timeout(40):
        while pending or len(witness.find("Hangup")) < 2 * len(CALLS):
            for _, h in witness.find("VarSet", Variable="AMDSTATUS"):
                if h["Uniqueid"] in pending:
                    pending.discard(h["Uniqueid"])
                    witness.send("Setvar", ("Channel", h["Channel"]),
                                 ("Variable", "TALK_DETECT(set)"), ("Value", ""))
            await asyncio.sleep(0.02)


@pytest.mark.timeout(60)
async def test_the_simulators_carrier_profile_matches_this_asterisk(
        asterisk: RealAsterisk, ami_witness: AmiWitness) -> None:
    await run_calls(ami_witness)
    seen = {c.number[-1]: Seen(ami_witness, c) for c in CALLS}
    lines = []
    for digit in "01":
        t, cause = seen[digit].var("AMDCAUSE")
        lines.append(f"{digit}: {cause} at {t:.2f}")
        assert (cause, t) == (SHIPPED.human.cause, pytest.approx(SHIPPED.human.after_s,
                                                                  abs=CLOSE_S))
    for digit in "45":
        t, cause = seen[digit].var("AMDCAUSE")
        want = SHIPPED.machine_verdict(digit)
        lines.append(f"{digit}: {cause} at {t:.2f}")
        assert (cause, t) == (want.cause, pytest.approx(want.after_s, abs=CLOSE_S))
    lines += check_person(seen["0"], seen["1"])
    lines += check_machine_talk(seen["4"])
    lines += check_answer_hangup(seen["9"])
    print("\n".join(lines))


def check_person(plain: Seen, keyed: Seen) -> list[str]:
    script = person_script(SHIPPED, 4.0)
    hellos = plain.played("dialer/hello-")
    [(gone, _)] = plain.at("Hangup", far=True)
    assert hellos == pytest.approx([s[0] - SHIPPED.hello_voice[0] for s in script.speech],
                                   abs=CLOSE_S)
    assert gone == pytest.approx(script.hangup_s, abs=CLOSE_S)
    keys = person_script(SHIPPED, 6.0, "12")
    heard = [t for t, _ in keyed.at("DTMFEnd", Direction="Received")]
    [(keyed_gone, _)] = keyed.at("Hangup", far=True)
    assert heard == pytest.approx([t for t, _ in keys.keys], abs=CLOSE_S)
    assert keyed_gone == pytest.approx(keys.hangup_s, abs=CLOSE_S)
    return [f"0: hellos at {[round(h, 2) for h in hellos]}, hang-up at {gone:.2f}",
            f"1: keys heard at {[round(h, 2) for h in heard]}, hang-up at {keyed_gone:.2f}"]


def check_machine_talk(machine: Seen) -> list[str]:
    beep_over = machine.after_playback("dialer/greeting-4")
    [(started, _)] = machine.at("ChannelTalkingStart")
    [(stopped, _)] = machine.at("ChannelTalkingStop")
    greeting = SHIPPED.greeting("4")
    talk = talk_detected(SHIPPED, machine_speech(SHIPPED, greeting), started)
    assert talk is not None
    assert beep_over == pytest.approx(SHIPPED.answer_wait_s + greeting + SHIPPED.beep_s,
                                      abs=CLOSE_S)
    assert stopped == pytest.approx(talk.finished_s, abs=CLOSE_S)
    return [f"4: greeting and beep over at {beep_over:.2f}, talking {started:.2f}-"
            f"{stopped:.2f} ({stopped - beep_over:.2f} s after the beep)"]


def check_answer_hangup(seen: Seen) -> list[str]:
    [(gone, _)] = seen.at("Hangup", far=True)
    assert seen.var("AMDSTATUS")[1] == "HANGUP"
    assert gone == pytest.approx(SHIPPED.hangup_after_s, abs=CLOSE_S)
    return [f"9: hangs up at {gone:.2f}"]
