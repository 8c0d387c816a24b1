"""The predictive pacer and its online estimates, on hand-made snapshots."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from dialer.core.pacing import Estimates, Learner, Ledger, Predictive, Snapshot
from dialer.core.pacing.estimates import conditional_table
from dialer.core.pacing.predictive import LedgerControl

NOW = 10_000.0


def learned(*, human: float = 0.3, talk_s: float = 60.0, attempts: int = 2000,
            seed: int = 1) -> Estimates:
    """Estimates learned from calls like S1's: humans answer after 4-16 s, the rest
    ring out at 25 s; agents talk ``talk_s`` and wrap up for 10 s."""
    rng = random.Random(seed)
    learner = Learner()
    for i in range(attempts):
        t = NOW - 600.0 * (1 - i / attempts)
        if rng.random() < human:
            ring = rng.uniform(4.0, 16.0)
            learner.screened(t, 0.0, True)
            learner.attempt(t, ring, ring)
        else:
            learner.attempt(t, 25.0)
    for _ in range(300):
        learner.talked(t, talk_s)
        learner.wrapped(t, 10.0)
    return learner.estimates(NOW)


EST = learned()
ROOMY = Ledger(2000, 20)


def snap(*, ready: int = 0, talking: tuple[float, ...] = (), ringing: tuple[float, ...] = (),
         wrapping: tuple[float, ...] = (), ledger: Ledger = ROOMY,
         estimates: Estimates = EST) -> Snapshot:
    return Snapshot(now=NOW, ready=(NOW - 1.0,) * ready,
                    talking=tuple(NOW - s for s in talking),
                    wrapping=tuple(NOW - s for s in wrapping),
                    ringing=tuple(NOW - s for s in ringing), estimates=estimates,
                    ledger=ledger)


def test_answer_probability_is_conditioned_on_ring_time_so_far() -> None:
    fresh = EST.answer_probability(0.0, EST.checkpoints[-1])
    assert fresh == pytest.approx(0.3, abs=0.03)
    # after 14 s of ringing, a call is either a human about to answer or a no-answer
    late = EST.answer_probability(14.0, 4.0)
    assert late == pytest.approx((2 / 12 * 0.3) / (2 / 12 * 0.3 + 0.7), abs=0.03)
    assert EST.answer_probability(20.0, 4.0) == 0.0


def test_free_probability_is_conditioned_on_time_already_talking() -> None:
    # 60 s talk + 10 s wrap-up; the horizon is about 16 s, plus the 2 s window
    assert EST.free_probability(58.0, EST.checkpoints[-1]) == 1.0
    assert EST.free_probability(58.0, 2.0) == 0.0
    assert EST.free_probability(5.0, EST.checkpoints[-1]) == 0.0


def test_conditional_table_counts_events_among_those_still_waiting() -> None:
    samples = [(1.0, 1.0), (2.0, 2.0), (3.0, float("inf")), (4.0, 4.0)]
    rows = conditional_table(samples, 1.0, 5, [1.0], hold_tail=False)
    assert rows[0][0] == pytest.approx(1 / 4)   # of 4 alive at 0, one event by 1
    assert rows[2][0] == pytest.approx(0.0)     # alive at 2: (3, inf), (4, 4)
    assert rows[3][0] == pytest.approx(1.0)     # alive at 3: (4, 4), event by 4
    assert rows[4] == (0.0, 0.0)                # nobody left


def test_learner_has_no_estimates_before_any_call() -> None:
    e = Learner().estimates(0.0)
    assert e.attempts == 0 and not e.checkpoints


def test_learner_follows_a_fall_in_the_answer_rate() -> None:
    learner = Learner()
    rng = random.Random(3)
    for i in range(6000):
        t = i * 0.5
        human = rng.random() < (0.3 if t < 1500 else 0.1)
        learner.attempt(t, 10.0 if human else 25.0, 10.0 if human else None)
    assert learner.estimates(3000.0).live_share == pytest.approx(0.1, abs=0.03)


def test_cold_start_is_progressive() -> None:
    pacer = Predictive()
    decision = pacer.decide(snap(ready=5, ringing=(3.0,), estimates=Estimates()))
    assert (decision.mode, decision.calls) == ("cold_start", 4)


def test_with_headroom_it_dials_ahead_of_agents_about_to_free() -> None:
    d = Predictive().decide(snap(ready=2, wrapping=(8.0,) * 8))
    assert d.mode == "predictive"
    assert d.calls > 10   # more than one call per agent: only 3 in 10 calls answer
    assert d.expected_live <= d.available_agents + 1
    assert 0.0 < d.expected_abandons < 0.03 * d.expected_live * 2


def test_the_chance_an_agent_frees_depends_on_time_already_talking() -> None:
    about_to_free = Predictive().decide(snap(ready=2, wrapping=(8.0,) * 8)).calls
    just_started = Predictive().decide(snap(ready=2, talking=(5.0,) * 8)).calls
    near_the_end = Predictive().decide(snap(ready=2, talking=(58.0,) * 8)).calls
    assert just_started < near_the_end < about_to_free
    assert just_started < about_to_free
    assert just_started >= 2


def test_calls_already_ringing_reduce_new_calls() -> None:
    idle = Predictive().decide(snap(ready=10)).calls
    busy_lines = Predictive().decide(snap(ready=10, ringing=(2.0,) * 10)).calls
    assert busy_lines <= idle - 8


def test_near_the_ceiling_it_falls_back_to_progressive() -> None:
    d = Predictive().decide(snap(ready=3, talking=(55.0,) * 7, ringing=(8.0,) * 12,
                                 ledger=Ledger(1000, 31)))
    assert d.mode == "ceiling"
    assert d.calls == 0
    d = Predictive().decide(snap(ready=3, ledger=Ledger(1000, 31)))
    assert (d.mode, d.calls) == ("ceiling", 3)


def test_a_full_ledger_dials_less_than_one_with_headroom() -> None:
    roomy = Predictive().decide(snap(ready=2, wrapping=(8.0,) * 8, ledger=Ledger(2000, 10)))
    tight = Predictive().decide(snap(ready=2, wrapping=(8.0,) * 8, ledger=Ledger(2000, 55)))
    assert tight.calls < roomy.calls


def test_small_team_is_never_dialled_far_beyond_its_agents() -> None:
    d = Predictive().decide(snap(ready=1, talking=(30.0,) * 2))
    assert d.calls <= 6
    assert d.expected_live <= 3.0


def test_zero_agents_get_no_calls_even_with_estimates() -> None:
    assert Predictive().decide(snap()).calls == 0


def test_ledger_control_plans_for_less_loss_when_headroom_is_below_the_reserve() -> None:
    control = LedgerControl(spend_s=300.0, integral_s=900.0)
    roomy = control.rate(0.03, headroom=40.0, live_rate=1.0)
    tight = control.rate(0.03, headroom=0.0, live_rate=1.0)
    assert tight < 0.03 < roomy


def test_ledger_control_integral_raises_the_rate_while_headroom_stays_above_reserve() -> None:
    control = LedgerControl(spend_s=300.0, integral_s=900.0)
    before = control.rate(0.03, 30.0, 1.0)
    for t in range(0, 1800, 10):
        control.integrate(float(t), control.error(0.03, 30.0, 1.0))
    assert control.rate(0.03, 30.0, 1.0) > before


def test_ledger_control_integral_is_frozen_outside_predictive_mode() -> None:
    control = LedgerControl(spend_s=300.0, integral_s=900.0)
    for t in range(0, 1800, 10):
        control.integrate(float(t), None)
    assert control.log_u == 0.0


def test_headroom_banked_over_weeks_is_not_spent_faster_than_the_days() -> None:
    month = Ledger(60000, 1000)   # 800 abandons of headroom left over the window
    banked = Predictive().decide(replace(snap(ready=2, wrapping=(8.0,) * 8, ledger=month),
                                         today=Ledger(2000, 55)))
    fresh_day = Predictive().decide(snap(ready=2, wrapping=(8.0,) * 8, ledger=Ledger(2000, 55)))
    assert banked.calls == fresh_day.calls
