"""The discrete-event pacing simulation: S1 with 20 agents for one simulated hour, and
the simulation's own bookkeeping. The full table is `dialer bench pacing`'s job."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.core.pacing import make_pacer
from dialer.sim.des import Simulation
from dialer.sim.des_report import ShiftResult
from dialer.sim.scenario import Scenario, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
QUIET = """
shift: 1h
agents:
  count: 2
  wrapup: 10s
  schedule:
    - {at: 10m, pause: 1, for: 15m}
    - {at: 30m, login: 2}
    - {at: 50m, logout: 3}
callees:
  outcomes: {no_answer: 1.0}
  talk: 60s
"""


def run(scenario: Scenario, pacer: str, seed: int) -> ShiftResult:
    return Simulation(scenario, make_pacer(pacer), seed).run()


@pytest.fixture(scope="module")
def s1_hour() -> Scenario:
    return load_scenario(SCENARIOS / "S1.yaml").with_agents(20).with_hours(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_s1_twenty_agents_for_an_hour_stays_under_the_abandon_limit(
        s1_hour: Scenario, seed: int) -> None:
    predictive = run(s1_hour, "predictive", seed)
    progressive = run(s1_hour, "progressive", seed)
    assert predictive.live > 300
    assert predictive.abandon_rate <= 0.03
    assert predictive.talk_min_per_agent_hour > 1.15 * progressive.talk_min_per_agent_hour


def test_progressive_never_abandons_a_live_answer(s1_hour: Scenario) -> None:
    result = run(s1_hour.with_hours(0.5), "progressive", 0)
    assert result.live > 100 and result.abandoned == 0


def test_preview_agents_dial_their_own_calls_and_nobody_is_abandoned(
        s1_hour: Scenario) -> None:
    result = run(s1_hour.with_agents(5).with_hours(0.5), "preview", 0)
    assert result.dialed > 0 and result.live > 0 and result.abandoned == 0
    assert result.modes == {"preview": result.decisions}


def test_the_same_seed_gives_the_same_shift(s1_hour: Scenario) -> None:
    short = s1_hour.with_hours(0.25)
    first, second = run(short, "predictive", 5), run(short, "predictive", 5)
    assert (first.live, first.abandoned, first.dialed) == (second.live, second.abandoned,
                                                            second.dialed)


def test_logins_pauses_and_logouts_count_toward_agent_hours() -> None:
    result = run(parse_scenario(QUIET), "progressive", 0)
    # 2 agents for 1 h, one paused 15 min, 2 more from 30 min, 3 leave at 50 min
    expected_s = 2 * 3600 - 15 * 60 + 2 * 30 * 60 - 3 * 10 * 60
    assert result.calls_per_agent_hour * expected_s / 3600 == pytest.approx(result.dialed)
    assert result.live == 0 and result.talk_min_per_agent_hour == 0


def test_the_pacer_runs_at_least_every_quarter_second() -> None:
    result = run(parse_scenario(QUIET), "progressive", 0)
    assert result.decisions >= 3600 * 4


def test_a_human_that_amd_calls_a_machine_is_an_abandoned_live_answer(
        s1_hour: Scenario) -> None:
    text = (SCENARIOS / "S1.yaml").read_text().replace(
        "amd: {human_s: 0, machine_s: 3s}", "amd: {human_s: 0, machine_s: 3s, false_machine: 1}")
    scenario = parse_scenario(text).with_agents(5).with_hours(0.25)
    result = run(scenario, "progressive", 0)
    assert result.live > 0 and result.abandoned == result.live
    assert result.talk_min_per_agent_hour == 0


def test_a_fall_in_the_human_rate_mid_shift_keeps_abandonment_under_the_limit() -> None:
    # human answers fall from 30% to 10% at hour 3, while agents pause and join
    scenario = load_scenario(SCENARIOS / "shift_change.yaml").with_hours(4.0)
    result = run(scenario, "predictive", 0)
    assert result.live > 1000
    assert result.abandon_rate <= 0.03
