"""The test carrier's timings (dialer.sim.carrier) against what Asterisk 22.10.1 did with
the shipped configuration, in seconds after the near end's answer (AMI and ARI events):

* 5550100, SIM_TALK=4: hello at 0.50, hello again at 3.13, hang-up at 4.77.
* 5550101, SIM_TALK=5, SIM_DTMF=9: key sent at 5.14, heard over ARI at 5.33, hang-up
  at 10.22.
* 5550102, SIM_TALK=6, SIM_DTMF=12, TALK_DETECT at 1.58: keys heard at 5.33 and 5.68;
  talking 7.97-10.81 (330 ms); hang-up at 11.56.
* 5550104 and 5550105, TALK_DETECT right after AMD: LONGGREETING-1500-1500 at 2.60 and
  2.26; greeting and beep over at 10.89 and 12.99; talking 2.62-13.37 (8244 ms) and
  2.29-15.47 (10676 ms).
* 5550100-5550102: HUMAN-712-700 at 1.575-1.588.
"""

from __future__ import annotations

import pytest

from dialer.sim.carrier import (
    RECORDED,
    SHIPPED,
    machine_hangup,
    machine_speech,
    person_script,
    talk_detected,
)
from dialer.sim.model import DigitModel, Outcome

CLOSE = 0.06


@pytest.mark.parametrize(("talk", "keys", "heard", "hangup"), [
    (4.0, "", [], 4.77), (5.0, "9", [5.33], 10.22), (6.0, "12", [5.33, 5.68], 11.56)])
def test_the_shipped_persons_keys_and_hang_up_follow_the_dialplan(
        talk: float, keys: str, heard: list[float], hangup: float) -> None:
    script = person_script(SHIPPED, talk, keys)
    assert [k for _, k in script.keys] == list(keys)
    assert [t for t, _ in script.keys] == pytest.approx(heard, abs=CLOSE)
    assert script.hangup_s == pytest.approx(hangup, abs=CLOSE)


def test_the_shipped_person_says_hello_again_two_seconds_after_the_first() -> None:
    (first, second) = person_script(SHIPPED, 4.0).speech
    assert second[0] - (first[0] - 0.05 + SHIPPED.hello_s) == pytest.approx(2.05)
    assert first[0] == pytest.approx(0.55)  # Answer() waits 0.5 s for media first


def test_talk_detection_on_a_person_starts_with_the_second_hello() -> None:
    script = person_script(SHIPPED, 6.0, "12")
    talk = talk_detected(SHIPPED, script.speech, 1.58)
    assert talk is not None
    assert (talk.started_s, talk.finished_s) == pytest.approx((7.97, 10.81), abs=CLOSE)
    assert talk.duration_ms == pytest.approx(330, abs=20)


@pytest.mark.parametrize(("digit", "set_s", "finished", "duration_ms"), [
    ("4", 2.62, 13.37, 8244), ("5", 2.29, 15.47, 10676)])
def test_talk_detection_on_a_machine_ends_2_48_s_after_its_beep(
        digit: str, set_s: float, finished: float, duration_ms: int) -> None:
    greeting = SHIPPED.greeting(digit)
    talk = talk_detected(SHIPPED, machine_speech(SHIPPED, greeting), set_s)
    assert talk is not None
    assert talk.started_s == pytest.approx(set_s)
    assert talk.finished_s == pytest.approx(finished, abs=CLOSE)
    assert talk.duration_ms == pytest.approx(duration_ms, abs=60)
    assert machine_hangup(SHIPPED, greeting) == pytest.approx(finished - 2.48 + 20.0, abs=CLOSE)


def test_nothing_is_reported_when_nobody_speaks_after_talk_detection_is_set() -> None:
    assert talk_detected(SHIPPED, person_script(SHIPPED, 4.0).speech, 4.0) is None


def test_the_recorded_profile_keeps_the_traces_timings() -> None:
    script = person_script(RECORDED, 40.0, "1#")
    assert [t for t, _ in script.keys] == pytest.approx([1.7, 2.05])
    talk = talk_detected(RECORDED, script.speech, 0.0)
    assert talk is not None and (talk.started_s, talk.finished_s) == pytest.approx((0.8, 4.8))


@pytest.mark.parametrize(("digit", "outcome", "cause", "amd_s", "greeting"), [
    ("0", Outcome.HUMAN, "HUMAN-712-700", 1.58, 0.0),
    ("3", Outcome.HUMAN, "HUMAN-712-700", 1.58, 0.0),
    ("4", Outcome.MACHINE, "LONGGREETING-1500-1500", 2.60, 9.89),
    ("5", Outcome.MACHINE, "LONGGREETING-1500-1500", 2.26, 11.99),
    ("9", Outcome.ANSWER_HANGUP, "", 1.5, 0.0)])
def test_the_digit_model_gives_the_shipped_configurations_verdicts(
        digit: str, outcome: Outcome, cause: str, amd_s: float, greeting: float) -> None:
    plan = DigitModel(seed=4).plan(f"212555010{digit}", 0.0)
    assert (plan.outcome, plan.amd_cause, plan.amd_s, plan.greeting_s) == (
        outcome, cause, amd_s, greeting)


def test_the_digit_models_person_stays_20_to_60_s_by_the_script() -> None:
    model = DigitModel(seed=9)
    plans = [model.plan("2125550101", 0.0) for _ in range(200)]
    assert all(p.scripted and 20 <= p.talk_s <= 60 for p in plans)
    assert min(p.talk_s for p in plans) < 25 and max(p.talk_s for p in plans) > 55
