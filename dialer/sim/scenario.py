"""Scenario files: called parties, agents and the shift, in YAML.

One file drives both the socket simulator (``Scenario.callee_model``) and the
discrete-event pacing simulation (``dialer.sim.des``). The format is documented in
``docs/scenario.md``. Every error is a :class:`ConfigError` naming the key path.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from dialer.core.errors import ConfigError
from dialer.sim.model import AMD_HANGUP, AMD_HUMAN, AMD_MACHINE, CalleePlan, Outcome
from dialer.sim.scenario_values import (
    Dist,
    _count,
    _dist,
    _join,
    _keys,
    _kind,
    _mapping,
    _positive,
    _required,
    _share,
    parse_duration,
)


@dataclass(frozen=True, slots=True)
class Callees:
    """What called parties do during one phase of the shift."""

    outcomes: tuple[tuple[Outcome, float], ...]
    ring: Mapping[Outcome, Dist]
    talk: Dist
    greeting: Dist
    patience: Dist
    amd_human_s: float = 0.0
    amd_machine_s: float = 3.0
    false_machine: float = 0.0
    false_human: float = 0.0
    optout: float = 0.0
    hangup_after_s: float = 1.0

    def share(self, outcome: Outcome) -> float:
        return dict(self.outcomes).get(outcome, 0.0)


@dataclass(frozen=True, slots=True)
class AgentStep:
    """At ``at_s``, ``count`` agents log in, log out, or pause for ``for_s``."""

    at_s: float
    action: str
    count: int
    for_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    shift_s: float
    agents: int
    wrapup: Dist
    phases: tuple[tuple[float, Callees], ...]
    schedule: tuple[AgentStep, ...] = ()
    ring_timeout_s: float = 25.0
    answer_window_s: float = 2.0
    abandon_limit: float = 0.03
    description: str = ""

    def callees_at(self, at_s: float) -> Callees:
        starts = [start for start, _ in self.phases]
        return self.phases[max(0, bisect.bisect_right(starts, at_s) - 1)][1]

    def callee_model(self, seed: int) -> ScenarioModel:
        return ScenarioModel(self, seed)

    def with_agents(self, agents: int) -> Scenario:
        return replace(self, agents=agents)

    def with_hours(self, hours: float) -> Scenario:
        return replace(self, shift_s=hours * 3600.0)


class ScenarioModel:
    """A seeded :class:`dialer.sim.model.CalleeModel` drawn from a scenario."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self._rng = random.Random(seed)

    def plan(self, number: str, at_s: float) -> CalleePlan:
        c = self.scenario.callees_at(at_s)
        rng = self._rng
        outcome = _pick(c.outcomes, rng.random())
        if outcome is Outcome.NO_ANSWER:
            return CalleePlan(outcome, self.scenario.ring_timeout_s)
        ring = c.ring[outcome].sample(rng)
        if outcome in (Outcome.BUSY, Outcome.CONGESTION):
            return CalleePlan(outcome, ring)
        if outcome is Outcome.ANSWER_HANGUP:
            return CalleePlan(outcome, ring, amd_status=AMD_HANGUP[0], amd_cause=AMD_HANGUP[1],
                              amd_s=c.hangup_after_s, hangup_after_s=c.hangup_after_s)
        if outcome is Outcome.HUMAN:
            return self._human(c, ring)
        status = AMD_HUMAN if rng.random() < c.false_human else AMD_MACHINE
        return CalleePlan(outcome, ring, greeting_s=c.greeting.sample(rng), amd_status=status[0],
                          amd_cause=status[1], amd_s=c.amd_machine_s)

    def _human(self, c: Callees, ring: float) -> CalleePlan:
        rng = self._rng
        status = AMD_MACHINE if rng.random() < c.false_machine else AMD_HUMAN
        return CalleePlan(Outcome.HUMAN, ring, talk_s=c.talk.sample(rng), amd_status=status[0],
                          amd_cause=status[1], amd_s=c.amd_human_s,
                          patience_s=c.patience.sample(rng), optout=rng.random() < c.optout)

    def wrapup_s(self, at_s: float) -> float:
        return self.scenario.wrapup.sample(self._rng)


def _pick(outcomes: tuple[tuple[Outcome, float], ...], u: float) -> Outcome:
    total = 0.0
    for outcome, p in outcomes:
        total += p
        if u < total:
            return outcome
    return outcomes[-1][0]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read: {exc.strerror}", source=str(p)) from exc
    try:
        return parse_scenario(text, name=p.stem)
    except ConfigError as exc:
        raise exc.located(str(p), exc.line) from None


def parse_scenario(text: str, *, name: str = "scenario") -> Scenario:
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError("(yaml)", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                          line=line) from None
    return build_scenario(_mapping(doc, ""), default_name=name)


_TOP = {"name", "description", "shift", "dialer", "agents", "callees", "changes"}
_CALLEES = {"outcomes", "ring", "talk", "greeting", "patience", "amd", "optout",
            "hangup_after"}
_AMD = {"human_s", "machine_s", "false_machine", "false_human"}


def build_scenario(doc: Mapping[str, Any], *, default_name: str) -> Scenario:
    _keys(doc, "", _TOP)
    dialer = _mapping(doc.get("dialer", {}), "dialer")
    _keys(dialer, "dialer", {"ring_timeout", "answer_window", "abandon_limit"})
    agents = _mapping(_required(doc, "", "agents"), "agents")
    _keys(agents, "agents", {"count", "wrapup", "schedule"})
    base = _callees(_mapping(_required(doc, "", "callees"), "callees"), "callees", None)
    return Scenario(
        name=str(doc.get("name", default_name)), description=str(doc.get("description", "")),
        shift_s=_positive(parse_duration(_required(doc, "", "shift"), "shift"), "shift"),
        agents=_count(_required(agents, "agents", "count"), "agents.count"),
        wrapup=_dist(agents.get("wrapup", 0), "agents.wrapup"),
        schedule=_schedule(agents.get("schedule", []), "agents.schedule"),
        phases=((0.0, base), *_changes(doc.get("changes", []), base)),
        ring_timeout_s=_positive(parse_duration(dialer.get("ring_timeout", 25),
                                                "dialer.ring_timeout"), "dialer.ring_timeout"),
        answer_window_s=parse_duration(dialer.get("answer_window", 2), "dialer.answer_window"),
        abandon_limit=_share(dialer.get("abandon_limit", 0.03), "dialer.abandon_limit"))


def _schedule(value: Any, path: str) -> tuple[AgentStep, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, f"expected a list of steps, got {_kind(value)}")
    steps = [_step(_mapping(item, f"{path}[{i}]"), f"{path}[{i}]")
             for i, item in enumerate(value)]
    return tuple(sorted(steps, key=lambda s: s.at_s))


def _step(item: Mapping[str, Any], path: str) -> AgentStep:
    _keys(item, path, {"at", "login", "logout", "pause", "for"})
    actions = [a for a in ("login", "logout", "pause") if a in item]
    if len(actions) != 1:
        raise ConfigError(path, "expected exactly one of login, logout, pause")
    action = actions[0]
    if action == "pause" and "for" not in item:
        raise ConfigError(_join(path, "for"), "a pause needs its length")
    if action != "pause" and "for" in item:
        raise ConfigError(_join(path, "for"), "only a pause has a length")
    return AgentStep(parse_duration(_required(item, path, "at"), _join(path, "at")), action,
                     _count(item[action], _join(path, action)),
                     parse_duration(item.get("for", 0), _join(path, "for")))


def _changes(value: Any, base: Callees) -> list[tuple[float, Callees]]:
    if not isinstance(value, list):
        raise ConfigError("changes", f"expected a list of changes, got {_kind(value)}")
    phases: list[tuple[float, Callees]] = []
    current = base
    for i, item in sorted(enumerate(value), key=lambda x: _at(x[1], f"changes[{x[0]}]")):
        path = f"changes[{i}]"
        change = _mapping(item, path)
        _keys(change, path, {"at", "callees"})
        current = _callees(_mapping(_required(change, path, "callees"), f"{path}.callees"),
                           f"{path}.callees", current)
        phases.append((_at(change, path), current))
    return phases


def _at(item: Any, path: str) -> float:
    return parse_duration(_required(_mapping(item, path), path, "at"), _join(path, "at"))


def _callees(doc: Mapping[str, Any], path: str, base: Callees | None) -> Callees:
    """Full callee settings, or (with ``base``) a change merged onto them."""
    _keys(doc, path, _CALLEES)
    if base is None:
        for key in ("outcomes", "talk"):
            _required(doc, path, key)
    outcomes = _outcomes(doc.get("outcomes"), _join(path, "outcomes"), base)
    ring = _ring(doc.get("ring", {}), _join(path, "ring"), base)
    for outcome, p in outcomes:
        if p > 0 and outcome is not Outcome.NO_ANSWER and outcome not in ring:
            raise ConfigError(_join(path, f"ring.{outcome.value}"),
                              f"is required: outcome {outcome.value} has probability {p:g}")
    amd = _mapping(doc.get("amd", {}), _join(path, "amd"))
    _keys(amd, _join(path, "amd"), _AMD)
    return _merged(doc, path, base, outcomes, ring, amd)


def _merged(doc: Mapping[str, Any], path: str, base: Callees | None,
            outcomes: tuple[tuple[Outcome, float], ...], ring: Mapping[Outcome, Dist],
            amd: Mapping[str, Any]) -> Callees:
    def dist(key: str, default: Dist) -> Dist:
        return _dist(doc[key], _join(path, key)) if key in doc else default

    def amd_value(key: str, default: float, *, share: bool = False) -> float:
        if key not in amd:
            return default
        where = _join(path, f"amd.{key}")
        return _share(amd[key], where) if share else parse_duration(amd[key], where)

    b = base or Callees((), {}, Dist("fixed", 0), Dist("uniform", 8, 12), Dist("fixed", 30))
    return Callees(
        outcomes=outcomes, ring=ring, talk=dist("talk", b.talk),
        greeting=dist("greeting", b.greeting), patience=dist("patience", b.patience),
        amd_human_s=amd_value("human_s", b.amd_human_s),
        amd_machine_s=amd_value("machine_s", b.amd_machine_s),
        false_machine=amd_value("false_machine", b.false_machine, share=True),
        false_human=amd_value("false_human", b.false_human, share=True),
        optout=_share(doc["optout"], _join(path, "optout")) if "optout" in doc else b.optout,
        hangup_after_s=parse_duration(doc["hangup_after"], _join(path, "hangup_after"))
        if "hangup_after" in doc else b.hangup_after_s)


def _outcomes(value: Any, path: str, base: Callees | None
              ) -> tuple[tuple[Outcome, float], ...]:
    if value is None and base is not None:
        return base.outcomes
    given = {_outcome(k, path): _share(v, _join(path, str(k)))
             for k, v in _mapping(value, path).items()}
    rest = {o: p for o, p in (base.outcomes if base else ()) if o not in given}
    left, rest_total = 1.0 - sum(given.values()), sum(rest.values())
    if base is not None and rest_total > 0 and left >= -1e-9:
        given.update({o: p * left / rest_total for o, p in rest.items()})
    elif abs(left) > 1e-6:
        raise ConfigError(path, f"probabilities must add up to 1, they add up to {1 - left:g}")
    return tuple((o, given[o]) for o in Outcome if o in given)


def _outcome(key: Any, path: str) -> Outcome:
    try:
        return Outcome(str(key))
    except ValueError:
        names = ", ".join(o.value for o in Outcome)
        raise ConfigError(_join(path, str(key)), f"unknown outcome; expected one of {names}"
                          ) from None


def _ring(value: Any, path: str, base: Callees | None) -> Mapping[Outcome, Dist]:
    ring = dict(base.ring) if base else {}
    for key, spec in _mapping(value, path).items():
        outcome = _outcome(key, path)
        if outcome is Outcome.NO_ANSWER:
            raise ConfigError(_join(path, str(key)), "no_answer rings until "
                              "dialer.ring_timeout; it has no ring time of its own")
        ring[outcome] = _dist(spec, _join(path, str(key)))
    return ring
