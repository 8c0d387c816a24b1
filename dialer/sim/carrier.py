"""The test carrier as a real Asterisk plays it, and what AMD() and TALK_DETECT make of it.

`asterisk-config/extensions.conf` (`dialer-test-carrier`, `dialer-test-person`) scripts
each far end; this module holds the timings of that script and of Asterisk's verdicts,
so the simulator follows them. All times are seconds after the answer (the near end's
``Up``).

Two profiles:

* :data:`SHIPPED`, the default: measured on Asterisk 22.10.1 with the shipped
  `amd.conf` and the sounds of `asterisk-config/README.md` (espeak-ng 1.51 at -s 190).
  ``tests/real/test_real_carrier_timing.py`` checks it against the real thing.
* :data:`RECORDED`: what the reference traces of 2026-11-28 show (an earlier `amd.conf`
  and carrier). The trace-replay tests drive the simulator with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Verdict:
    """AMDSTATUS and AMDCAUSE, and when AMD() returns."""

    status: str
    cause: str
    after_s: float


@dataclass(frozen=True, slots=True)
class CarrierProfile:
    """How the carrier's far ends sound, and how Asterisk judges them."""

    name: str
    answer_wait_s: float  # Answer() waits this long for media before the far end plays
    hello_s: float  # the person's "Hello?" file
    hello_voice: Span  # where in that file TALK_DETECT hears speech
    hello_again_after_s: float | None  # silence before the second "Hello?" (None: once)
    key_delay_s: float  # SIM_DTMF without SIM_DTMF_DELAY: silence after the hello
    key_gap_s: float  # SendDTMF(keys,250): one key this long after the other
    key_heard_s: float  # from SendDTMF to the near end's DTMF event
    key_tail_s: float  # SendDTMF returns this long after its last key's gap
    greeting_s: Mapping[str, float]  # a machine's greeting by last digit, up to the beep
    beep_s: float
    record_s: float  # a machine records this long after its beep, then hangs up
    talk_lag_s: float  # TALK_DETECT reports speech this long after it is played
    talk_silence_s: float  # silence that ends talking, from the end of the speech
    human: Verdict
    machine: Mapping[str, Verdict]  # by last digit
    hangup_after_s: float  # digit 9: answers and hangs up this long after
    busy_s: float  # Busy() / Congestion(): after the dial (see SHIPPED)
    congestion_s: float

    def greeting(self, digit: str) -> float:
        return self.greeting_s.get(digit, max(self.greeting_s.values()))

    def machine_verdict(self, digit: str) -> Verdict:
        return self.machine.get(digit) or next(iter(self.machine.values()))


SHIPPED = CarrierProfile(
    name="shipped", answer_wait_s=0.5, hello_s=0.635, hello_voice=(0.05, 0.38),
    hello_again_after_s=2.0, key_delay_s=4.0, key_gap_s=0.35, key_heard_s=0.2,
    key_tail_s=0.1, greeting_s=MappingProxyType({"4": 9.89, "5": 11.99}), beep_s=0.5,
    record_s=20.0, talk_lag_s=0.0, talk_silence_s=2.48,
    human=Verdict("HUMAN", "HUMAN-712-700", 1.58),
    machine=MappingProxyType({"4": Verdict("MACHINE", "LONGGREETING-1500-1500", 2.60),
                              "5": Verdict("MACHINE", "LONGGREETING-1500-1500", 2.26)}),
    hangup_after_s=1.5, busy_s=1.0, congestion_s=0.5)
# Asterisk reports busy and congestion at once; the simulator still takes 1 s and 0.5 s
# (docs/simulator.md, "Known differences").

# Fitted to the traces, whose carrier differed: AMD with Asterisk's defaults
# (amd/amd-accuracy.md), keys 1.7 s after the answer and talking heard from 0.8 s to
# 4.8 s after it for a person (ari-10), a machine still talking 14 s after it (ari-11).
RECORDED = CarrierProfile(
    name="recorded", answer_wait_s=0.0, hello_s=1.5, hello_voice=(0.0, 1.5),
    hello_again_after_s=None, key_delay_s=0.2, key_gap_s=0.35, key_heard_s=0.0,
    key_tail_s=0.0, greeting_s=MappingProxyType({"4": 12.0, "5": 12.0}), beep_s=0.8,
    record_s=20.0, talk_lag_s=0.8, talk_silence_s=2.5,
    human=Verdict("HUMAN", "HUMAN-800-800", 2.25),
    machine=MappingProxyType({"4": Verdict("MACHINE", "MAXWORDS-3-2", 2.0),
                              "5": Verdict("MACHINE", "MAXWORDS-3-2", 2.0)}),
    hangup_after_s=1.0, busy_s=1.0, congestion_s=0.5)


@dataclass(frozen=True, slots=True)
class PersonScript:
    """What the carrier's person does: keys as the near end hears them, speech as
    TALK_DETECT hears it, and when they hang up."""

    keys: tuple[tuple[float, str], ...]
    speech: tuple[Span, ...]
    hangup_s: float


def person_script(p: CarrierProfile, talk_s: float, keys: str = "",
                  key_delay_s: float | None = None) -> PersonScript:
    """`dialer-test-carrier`'s human branch: hello, scripted keys after a silence, then
    `dialer-test-person(talk_s)`: hello again after a pause, silence, hang up."""
    hello = p.answer_wait_s
    after = hello + p.hello_s
    sent = after + (p.key_delay_s if key_delay_s is None else key_delay_s)
    heard = tuple((sent + p.key_heard_s + i * p.key_gap_s, k) for i, k in enumerate(keys))
    if keys:
        after = sent + len(keys) * p.key_gap_s + p.key_tail_s
    speech = [_voice(p, hello)]
    end = after + talk_s
    if p.hello_again_after_s is not None:
        speech.append(_voice(p, after + p.hello_again_after_s))
        end = after + p.hello_again_after_s + p.hello_s + talk_s - 3.0
    return PersonScript(heard, tuple(speech), max(end, after))


def _voice(p: CarrierProfile, start: float) -> Span:
    return start + p.hello_voice[0], start + p.hello_voice[1]


def machine_speech(p: CarrierProfile, greeting_s: float) -> tuple[Span, ...]:
    """A machine speaks from its greeting through its beep."""
    return ((p.answer_wait_s, p.answer_wait_s + greeting_s + p.beep_s),)


def machine_hangup(p: CarrierProfile, greeting_s: float) -> float:
    return p.answer_wait_s + greeting_s + p.beep_s + p.record_s


@dataclass(frozen=True, slots=True)
class Talk:
    """ChannelTalkingStarted and ChannelTalkingFinished, after the answer."""

    started_s: float
    finished_s: float
    duration_ms: int


def talk_detected(p: CarrierProfile, speech: tuple[Span, ...], set_s: float) -> Talk | None:
    """What TALK_DETECT set ``set_s`` after the answer reports: talking starts with the
    first speech heard from then on and finishes once a silence of ``talk_silence_s``
    follows; shorter pauses do not end it. None when nothing is said after ``set_s``."""
    heard = [(a + p.talk_lag_s, b + p.talk_lag_s) for a, b in speech]
    first = next((i for i, (_, b) in enumerate(heard) if b > set_s), None)
    if first is None:
        return None
    started, end = max(set_s, heard[first][0]), heard[first][1]
    for a, b in heard[first + 1:]:
        if a - end >= p.talk_silence_s:
            break
        end = b
    return Talk(started, end + p.talk_silence_s, int((end - started) * 1000))
