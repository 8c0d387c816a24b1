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

    @property
    def answers(self) -> bool:
        return self.outcome in (Outcome.HUMAN, Outcome.MACHINE, Outcome.ANSWER_HANGUP)


class CalleeModel(Protocol):
    """Anything that can say what a dialled number will do."""

    def plan(self, number: str, at_s: float) -> CalleePlan: ...

    def wrapup_s(self, at_s: float) -> float:
        """An agent's wrap-up time after a call ending at ``at_s``."""
        ...


AMD_HUMAN = ("HUMAN", "HUMAN-800-800")
AMD_MACHINE = ("MACHINE", "MAXWORDS-3-2")
AMD_HANGUP = ("HANGUP", "")


class DigitModel:
    """The test carrier's last-digit mapping, with seeded durations.

    The durations follow ``asterisk-config/extensions.conf`` (dialer-test-carrier):
    humans ring 2-8 s and stay 20-60 s, machines ring 3-10 s with a 10-12 s greeting.
    """

    def __init__(self, seed: int = 0, *, optout_digits: str = "", wrapup_s: float = 5.0) -> None:
        self._rng = random.Random(seed)
        self._optout_digits = optout_digits
        self._wrapup = wrapup_s

    def plan(self, number: str, at_s: float) -> CalleePlan:
        digit = next((c for c in reversed(number) if c.isdigit()), "7")
        u = self._rng.uniform
        optout = bool(self._optout_digits) and digit in self._optout_digits
        if digit in "0123":
            return CalleePlan(Outcome.HUMAN, u(2, 8), talk_s=u(20, 60), amd_status=AMD_HUMAN[0],
                              amd_cause=AMD_HUMAN[1], amd_s=2.25, patience_s=u(4, 12),
                              optout=optout)
        if digit in "45":
            return CalleePlan(Outcome.MACHINE, u(3, 10), greeting_s=u(10, 12),
                              amd_status=AMD_MACHINE[0], amd_cause=AMD_MACHINE[1], amd_s=2.0)
        if digit == "9":
            return CalleePlan(Outcome.ANSWER_HANGUP, u(2, 6), amd_status=AMD_HANGUP[0],
                              amd_cause=AMD_HANGUP[1], amd_s=1.0, hangup_after_s=1.0)
        simple = {"6": (Outcome.BUSY, 1.0), "8": (Outcome.CONGESTION, 0.5)}
        outcome, ring = simple.get(digit, (Outcome.NO_ANSWER, 0.0))
        return CalleePlan(outcome, ring)

    def wrapup_s(self, at_s: float) -> float:
        return self._wrapup
