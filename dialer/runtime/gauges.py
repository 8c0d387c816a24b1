"""Gauges sampled once a second: calls in flight, agents by state, the pacer's
inputs and decision, abandonment against target, the filter's lists and health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dialer.obs import metrics


def sample(parts: Any) -> None:
    engine = parts.service.engine
    for name, dialer in parts.dialers.items():
        metrics.set_calls_in_flight(name, len(engine.in_flight(name)))
        metrics.set_agents(name, engine.agents_by_state(name))
        _pacer(name, dialer)
        target = float(dialer.setup.rules.abandon_target or 0.03)
        metrics.set_abandon(name, "rolling_30d", dialer.ledgers.window.rate, target)
        metrics.set_abandon(name, "calendar_day", dialer.ledgers.today.rate, target)
    _filter(parts.compliance)
    metrics.set_connected("db", bool(parts.writer.db_up))


def _pacer(name: str, dialer: Any) -> None:
    decision = dialer.stats.last
    if decision is None:
        return
    metrics.set_dial_level(name, decision.dial_level)
    est = dialer.learner.estimates(dialer.clock.now())
    metrics.set_pacer_inputs(name, metrics.PacerInputs(
        calls_wanted=decision.calls, available_agents=decision.available_agents,
        answer_rate=est.live_rate, human_rate=est.human_share,
        talk_seconds=est.mean_talk_s, wrapup_seconds=est.mean_wrapup_s,
        expected_live=decision.expected_live, headroom=decision.headroom))


def _filter(compliance: Any) -> None:
    health = compliance.health()
    metrics.set_filter_ready(health.ready)
    for item in health.lists:
        if item.age_s is not None:
            loaded = _now() - item.age_s
            metrics.set_filter_list(item.name, item.entries, loaded)


def _now() -> float:
    return time.time()


async def run(parts: Any, interval: float = 1.0) -> None:
    while True:
        sample(parts)
        await asyncio.sleep(interval)
