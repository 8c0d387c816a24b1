"""Scenario files: parsing, validation errors naming the key path, and the callee model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dialer.core.errors import ConfigError
from dialer.sim.model import Outcome
from dialer.sim.scenario import load_scenario, parse_duration, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

MINIMAL = """
shift: 1h
agents: {count: 3, wrapup: 10s}
callees:
  outcomes: {human: 0.5, no_answer: 0.5}
  ring: {human: {uniform: [4, 16]}}
  talk: {lognormal: {mean: 120, cv: 1.0}}
"""


def error_for(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_scenario(text)
    return info.value


@pytest.mark.parametrize("name", ["S1", "S2", "shift_change", "small_team"])
def test_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    assert scenario.name == name
    assert sum(p for _, p in scenario.callees_at(0).outcomes) == pytest.approx(1.0)


def test_s1_and_s2_match_the_standard_definitions() -> None:
    s1, s2 = load_scenario(SCENARIOS / "S1.yaml"), load_scenario(SCENARIOS / "S2.yaml")
    c1, c2 = s1.callees_at(0), s2.callees_at(0)
    assert (s1.shift_s, s1.ring_timeout_s, s1.answer_window_s) == (8 * 3600, 25.0, 2.0)
    assert c1.share(Outcome.HUMAN) == 0.30 and c2.share(Outcome.HUMAN) == 0.15
    for c, human in ((c1, 0.30), (c2, 0.15)):
        rest = 1 - human
        assert c.share(Outcome.NO_ANSWER) == pytest.approx(0.70 * rest)
        assert c.share(Outcome.BUSY) == pytest.approx(0.15 * rest)
        assert c.share(Outcome.MACHINE) == pytest.approx(0.15 * rest)
        assert (c.ring[Outcome.HUMAN].a, c.ring[Outcome.HUMAN].b) == (4.0, 16.0)
        assert c.amd_machine_s == 3.0
    assert (c1.talk.kind, c1.talk.a, c1.talk.b) == ("lognormal", 120.0, 1.0)
    assert c2.talk.a == 60.0 and s1.wrapup.a == s2.wrapup.a == 10.0


def test_callee_model_draws_outcomes_in_their_shares() -> None:
    model = load_scenario(SCENARIOS / "S1.yaml").callee_model(seed=7)
    counts = Counter(model.plan("5551234", 0.0).outcome for _ in range(20000))
    assert counts[Outcome.HUMAN] / 20000 == pytest.approx(0.30, abs=0.015)
    assert counts[Outcome.NO_ANSWER] / 20000 == pytest.approx(0.49, abs=0.015)


def test_callee_model_is_reproducible_by_seed() -> None:
    scenario = load_scenario(SCENARIOS / "S1.yaml")
    first, second, other = (scenario.callee_model(seed) for seed in (3, 3, 4))
    plans = [first.plan("1", float(i)) for i in range(50)]
    assert plans == [second.plan("1", float(i)) for i in range(50)]
    assert plans != [other.plan("1", float(i)) for i in range(50)]


def test_talk_time_has_the_lognormal_mean_and_cv() -> None:
    model = load_scenario(SCENARIOS / "S1.yaml").callee_model(seed=1)
    talks = [p.talk_s for p in (model.plan("1", 0.0) for _ in range(40000))
             if p.outcome is Outcome.HUMAN]
    mean = sum(talks) / len(talks)
    sd = (sum((t - mean) ** 2 for t in talks) / len(talks)) ** 0.5
    assert mean == pytest.approx(120.0, rel=0.05)
    assert sd / mean == pytest.approx(1.0, rel=0.12)


def test_a_change_at_hour_three_lowers_the_human_share_and_rescales_the_rest() -> None:
    scenario = load_scenario(SCENARIOS / "shift_change.yaml")
    before, after = scenario.callees_at(3 * 3600 - 1), scenario.callees_at(3 * 3600)
    assert before.share(Outcome.HUMAN) == 0.30 and after.share(Outcome.HUMAN) == 0.10
    assert after.share(Outcome.NO_ANSWER) == pytest.approx(0.49 * 0.9 / 0.7)
    assert after.talk == before.talk
    model = scenario.callee_model(seed=2)
    late = Counter(model.plan("1", 4 * 3600.0).outcome for _ in range(10000))
    assert late[Outcome.HUMAN] / 10000 == pytest.approx(0.10, abs=0.012)


def test_amd_errors_and_opt_out_are_drawn_per_call() -> None:
    text = MINIMAL.replace("talk:", "amd: {false_machine: 1.0}\n  optout: 1.0\n  talk:")
    model = parse_scenario(text).callee_model(seed=1)
    humans = [p for p in (model.plan("1", 0.0) for _ in range(200))
              if p.outcome is Outcome.HUMAN]
    assert humans and all(p.amd_status == "MACHINE" and p.optout for p in humans)


def test_agent_schedule_is_sorted_and_typed() -> None:
    steps = load_scenario(SCENARIOS / "shift_change.yaml").schedule
    assert [(s.at_s, s.action, s.count) for s in steps][:2] == [(1800.0, "login", 5),
                                                                (7200.0, "pause", 6)]
    assert steps[1].for_s == 900.0


@pytest.mark.parametrize(("value", "seconds"), [(90, 90.0), ("90s", 90.0), ("15m", 900.0),
                                                ("3h", 10800.0), ("250ms", 0.25)])
def test_durations_accept_units(value: object, seconds: float) -> None:
    assert parse_duration(value, "x") == seconds


@pytest.mark.parametrize(("text", "path", "words"), [
    (MINIMAL + "colour: red\n", "colour", "unknown key"),
    (MINIMAL.replace("shift: 1h", "shift: soon"), "shift", "expected a duration"),
    (MINIMAL.replace("0.5, no_answer: 0.5", "0.5, no_answer: 0.4"), "callees.outcomes",
     "add up to 1"),
    (MINIMAL.replace("human: 0.5,", "humans: 0.5,"), "callees.outcomes.humans",
     "unknown outcome"),
    (MINIMAL.replace("no_answer: 0.5", "no_answer: 0.3, busy: 0.2"), "callees.ring.busy",
     "is required"),
    (MINIMAL.replace("[4, 16]", "[16, 4]"), "callees.ring.human.uniform", "below low"),
    (MINIMAL.replace("cv: 1.0", "cv: -1"), "callees.talk.lognormal.cv", "greater than 0"),
    (MINIMAL.replace("count: 3", "count: three"), "agents.count", "whole number"),
    (MINIMAL + "changes: [{at: 1h, callees: {outcomes: {human: 1.5}}}]",
     "changes[0].callees.outcomes.human", "between 0 and 1"),
    (MINIMAL.replace("wrapup: 10s", "wrapup: 10s, schedule: [{at: 1h, pause: 2}]"),
     "agents.schedule[0].for", "needs its length"),
    (MINIMAL.replace("agents: {count: 3, wrapup: 10s}", ""), "agents", "is required"),
])
def test_bad_scenarios_name_the_key_path(text: str, path: str, words: str) -> None:
    err = error_for(text)
    assert err.path == path
    assert words in err.message


def test_yaml_syntax_errors_give_the_line() -> None:
    err = error_for("shift: 1h\nagents: {count: 3\n")
    assert err.line is not None and "not valid YAML" in err.message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothing\.yaml"):
        load_scenario(tmp_path / "nothing.yaml")


def test_errors_in_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(MINIMAL.replace("shift: 1h", "shift: -5"))
    with pytest.raises(ConfigError, match=r"bad.yaml: shift: must be a finite duration"):
        load_scenario(path)
