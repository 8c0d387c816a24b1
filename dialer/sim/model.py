"""The called-party model shared by the simulated Asterisk and the pacing simulation.

A model turns a dialled number (and the simulated time of dialling) into a
:class:`CalleePlan`: what that person or machine will do. Both the socket simulator
(`dialer sim`) and the discrete-event pacing simulation draw plans from the same
models, so a scenario file means the same thing in both.

The default model is the last-digit mapping of the test carrier (0-3 human,
4-5 machine, 6 busy, 7 no answer, 8 congestion, 9 answers then hangs up after 1 s).
Scenario files (``dialer.sim.scenario``) give a probabilistic model instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from dialer.sim.carrier import SHIPPED, CarrierProfile


class Outcome(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    ANSWER_HANGUP = "answer_hangup"  # answers, hangs up during AMD (AMDSTATUS=HANGUP)


@dataclass(frozen=True, slots=True)
class CalleePlan:
    """What one called party does. Durations are in simulated seconds.

    ring_s: until answer (human, machine, answer_hangup), or until the busy or
        congestion signal; for no_answer the call rings until the caller's timeout.
    talk_s: a human stays this long once connected to an agent.
    greeting_s: a machine's greeting length, up to the beep.
    amd_status / amd_cause / amd_s: what AMD() reports and how long it takes.
    patience_s: a human waiting with nobody there hangs up after this long.
    hangup_after_s: answer_hangup only: seconds after answer before hanging up.
    optout: presses the opt-out key when a recording offers it.
    scripted: a human who follows the test carrier's script (``dialer-test-person``):
        on the line ``talk_s`` in all, whoever talks to them; patience and the bridge
        do not change it.
    """

    outcome: Outcome
    ring_s: float
    talk_s: float = 0.0
    greeting_s: float = 0.0
    amd_status: str = ""
    amd_cause: str = ""
    amd_s: float = 0.0
    patience_s: float = 10.0
    hangup_after_s: float = 1.0
    optout: bool = False
    scripted: bool = False

    @property
    def answers(self) -> bool:
        return self.outcome in (Outcome.HUMAN, Outcome.MACHINE, Outcome.ANSWER_HANGUP)


class CalleeModel(Protocol):
    """Anything that can say what a dialled number will do."""

    def plan(self, number: str, at_s: float) -> CalleePlan: ...

    def wrapup_s(self, at_s: float) -> float:
        """An agent's wrap-up time after a call ending at ``at_s``."""
        ...


# The verdicts of the shipped amd.conf (scenario files draw which one a call gets).
AMD_HUMAN = (SHIPPED.human.status, SHIPPED.human.cause)
AMD_MACHINE = (SHIPPED.machine_verdict("4").status, SHIPPED.machine_verdict("4").cause)
AMD_HANGUP = ("HANGUP", "")


class DigitModel:
    """The test carrier's last-digit mapping, with seeded durations.

    It follows ``asterisk-config/extensions.conf`` (dialer-test-carrier) as a real
    Asterisk plays it (:mod:`dialer.sim.carrier`): humans ring 2-8 s and stay 20-60 s
    whoever talks to them, machines ring 3-10 s and play their greeting (about 10 s for
    digit 4, 12 s for 5); AMD's verdicts and timings come from ``carrier``.
    """

    def __init__(self, seed: int = 0, *, optout_digits: str = "", wrapup_s: float = 5.0,
                 carrier: CarrierProfile = SHIPPED) -> None:
        self._rng = random.Random(seed)
        self._optout_digits = optout_digits
        self._wrapup = wrapup_s
        self.carrier = carrier

    def plan(self, number: str, at_s: float) -> CalleePlan:
        digit = next((c for c in reversed(number) if c.isdigit()), "7")
        u, c = self._rng.uniform, self.carrier
        if digit in "0123":
            stay, v = u(20, 60), c.human
            optout = bool(self._optout_digits) and digit in self._optout_digits
            return CalleePlan(Outcome.HUMAN, u(2, 8), talk_s=stay, amd_status=v.status,
                              amd_cause=v.cause, amd_s=v.after_s, patience_s=stay,
                              optout=optout, scripted=True)
        if digit in "45":
            v = c.machine_verdict(digit)
            return CalleePlan(Outcome.MACHINE, u(3, 10), greeting_s=c.greeting(digit),
                              amd_status=v.status, amd_cause=v.cause, amd_s=v.after_s)
        if digit == "9":
            return CalleePlan(Outcome.ANSWER_HANGUP, u(2, 6), amd_status=AMD_HANGUP[0],
                              amd_cause=AMD_HANGUP[1], amd_s=c.hangup_after_s,
                              hangup_after_s=c.hangup_after_s)
        simple = {"6": (Outcome.BUSY, c.busy_s), "8": (Outcome.CONGESTION, c.congestion_s)}
        outcome, ring = simple.get(digit, (Outcome.NO_ANSWER, 0.0))
        return CalleePlan(outcome, ring)

    def wrapup_s(self, at_s: float) -> float:
        return self._wrapup
