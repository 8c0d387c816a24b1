"""Every Prometheus metric of the dialer, on one registry, with the helpers that set them.

Labels are bounded: a campaign name, a list name, or a value from a closed set defined
here (outcomes, agent states, AMD results, compliance reasons, windows, connections).
A value outside its closed set is counted under ``other`` so a bug cannot explode the
series count. Never pass a phone number, an attempt id or a channel name as a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from dialer.core.agent import AgentState
from dialer.core.compliance.verdict import REASONS
from dialer.core.outcomes import OUTCOMES

OTHER = "other"
AGENT_STATES = tuple(state.value for state in AgentState)
AMD_RESULTS = frozenset({"HUMAN", "MACHINE", "NOTSURE", "HANGUP"})
COMPLIANCE_REASONS = frozenset(REASONS)
ABANDON_WINDOWS = frozenset({"rolling_30d", "calendar_day", "calendar_month", "last_15m"})
CONNECTIONS = ("ami", "ari", "db")
DB_WRITE_OPS = frozenset({
    "attempt_insert", "attempt_update", "lead_lease", "lead_update", "disposition",
    "optout", "agent_session", "batch",
})
FORBIDDEN_LABEL_NAMES = frozenset({
    "phone", "number", "attempt", "attempt_id", "call_id", "uuid", "channel", "unique_id",
    "uniqueid", "linkedid", "lead", "lead_id",
})
CONTENT_TYPE = CONTENT_TYPE_LATEST

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: noise
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

CALLS = Counter("dialer_calls", "Finished call attempts by outcome",
                ["campaign", "outcome"], registry=REGISTRY)
CALLS_IN_FLIGHT = Gauge("dialer_calls_in_flight", "Attempts originated and not yet ended",
                        ["campaign"], registry=REGISTRY)
ABANDON_RATIO = Gauge("dialer_abandon_ratio", "Abandoned / live answers over a window",
                      ["campaign", "window"], registry=REGISTRY)
ABANDON_TARGET = Gauge("dialer_abandon_target", "The campaign's abandonment ceiling (ratio)",
                       ["campaign"], registry=REGISTRY)
AGENTS = Gauge("dialer_agents", "Agents by state", ["campaign", "state"], registry=REGISTRY)
ANSWER_TO_BRIDGE = Histogram(
    "dialer_answer_to_bridge_seconds", "From a live answer to the bridge with an agent",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0), registry=REGISTRY)
AMD_RESULTS_TOTAL = Counter("dialer_amd_results", "AMD() verdicts", ["result"],
                            registry=REGISTRY)
DIAL_LEVEL = Gauge("dialer_dial_level", "Calls in flight per available agent (pacer output)",
                   ["campaign"], registry=REGISTRY)
PACER_CALLS_WANTED = Gauge("dialer_pacer_calls_wanted", "Calls the pacer asked for last run",
                           ["campaign"], registry=REGISTRY)
PACER_ANSWER_RATE = Gauge("dialer_pacer_answer_rate", "Learned probability that a call "
                          "is answered", ["campaign"], registry=REGISTRY)
PACER_HUMAN_RATE = Gauge("dialer_pacer_human_rate", "Learned share of answers that AMD "
                         "calls human", ["campaign"], registry=REGISTRY)
PACER_TALK_SECONDS = Gauge("dialer_pacer_talk_seconds", "Learned mean talk time",
                           ["campaign"], registry=REGISTRY)
PACER_WRAPUP_SECONDS = Gauge("dialer_pacer_wrapup_seconds", "Learned mean wrap-up time",
                             ["campaign"], registry=REGISTRY)
PACER_EXPECTED_LIVE = Gauge("dialer_pacer_expected_live", "Live answers the pacer expects "
                            "within its horizon", ["campaign"], registry=REGISTRY)
PACER_HEADROOM = Gauge("dialer_pacer_ledger_headroom", "Abandoned calls the regulatory "
                       "ledger still allows", ["campaign"], registry=REGISTRY)
PACER_AVAILABLE_AGENTS = Gauge("dialer_pacer_available_agents", "Agents the pacer counts "
                               "as available now or soon", ["campaign"], registry=REGISTRY)
COMPLIANCE_BLOCKS = Counter("dialer_compliance_blocks", "Calls refused by a compliance rule",
                            ["reason"], registry=REGISTRY)
FILTER_ENTRIES = Gauge("dialer_filter_entries", "Numbers held in memory per list", ["list"],
                       registry=REGISTRY)
FILTER_AGE = Gauge("dialer_filter_age_seconds", "Seconds since a list was last refreshed",
                   ["list"], registry=REGISTRY)
FILTER_READY = Gauge("dialer_filter_ready", "1 when the compliance filter is loaded and fresh",
                     registry=REGISTRY)
AMI_CONNECTED = Gauge("dialer_ami_connected", "1 while logged in to AMI", registry=REGISTRY)
ARI_CONNECTED = Gauge("dialer_ari_connected", "1 while the ARI event socket is open",
                      registry=REGISTRY)
DB_UP = Gauge("dialer_db_up", "1 while the database answers", registry=REGISTRY)
LOOP_LAG = Gauge("dialer_event_loop_lag_seconds", "Latest measured event-loop lag",
                 registry=REGISTRY)
DB_WRITE = Histogram("dialer_db_write_seconds", "Duration of database writes", ["op"],
                     buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                              0.5, 1.0, 2.5), registry=REGISTRY)

_CONNECTION_GAUGES = {"ami": AMI_CONNECTED, "ari": ARI_CONNECTED, "db": DB_UP}
_PER_CAMPAIGN = (CALLS_IN_FLIGHT, ABANDON_TARGET, DIAL_LEVEL, PACER_CALLS_WANTED,
                 PACER_ANSWER_RATE, PACER_HUMAN_RATE, PACER_TALK_SECONDS,
                 PACER_WRAPUP_SECONDS, PACER_AVAILABLE_AGENTS, PACER_EXPECTED_LIVE,
                 PACER_HEADROOM)


def _closed(value: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    return value if value in allowed else OTHER


def _agent_state(state: str) -> str:
    return _closed(state.lower().replace("-", "_"), AGENT_STATES)


def exposition() -> bytes:
    """The text exposition of every metric, as served on ``/metrics``."""
    return generate_latest(REGISTRY)


def record_call(campaign: str, outcome: str) -> None:
    """Count one finished attempt."""
    CALLS.labels(campaign=campaign, outcome=_closed(outcome, OUTCOMES)).inc()


def set_calls_in_flight(campaign: str, count: int) -> None:
    CALLS_IN_FLIGHT.labels(campaign=campaign).set(count)


def set_abandon(campaign: str, window: str, ratio: float, target: float) -> None:
    """Abandonment over one ledger window, with the campaign's ceiling beside it."""
    ABANDON_RATIO.labels(campaign=campaign, window=_closed(window, ABANDON_WINDOWS)).set(ratio)
    ABANDON_TARGET.labels(campaign=campaign).set(target)


def set_agents(campaign: str, counts: Mapping[str, int]) -> None:
    """Agents per state; every known state is written, missing ones as zero."""
    totals = dict.fromkeys(AGENT_STATES, 0)
    for state, count in counts.items():
        key = _agent_state(state)
        totals[key] = totals.get(key, 0) + count
    for state, count in totals.items():
        AGENTS.labels(campaign=campaign, state=state).set(count)


def observe_answer_to_bridge(seconds: float) -> None:
    ANSWER_TO_BRIDGE.observe(seconds)


def record_amd(result: str) -> None:
    AMD_RESULTS_TOTAL.labels(result=_closed(result.upper(), AMD_RESULTS)).inc()


def set_dial_level(campaign: str, level: float) -> None:
    DIAL_LEVEL.labels(campaign=campaign).set(level)


@dataclass(frozen=True, slots=True)
class PacerInputs:
    """What a pacer saw when it decided, exported so its decisions can be explained."""

    calls_wanted: int
    available_agents: float
    answer_rate: float
    human_rate: float
    talk_seconds: float
    wrapup_seconds: float
    expected_live: float = 0.0
    headroom: float = 0.0


def set_pacer_inputs(campaign: str, inputs: PacerInputs) -> None:
    PACER_CALLS_WANTED.labels(campaign=campaign).set(inputs.calls_wanted)
    PACER_AVAILABLE_AGENTS.labels(campaign=campaign).set(inputs.available_agents)
    PACER_EXPECTED_LIVE.labels(campaign=campaign).set(inputs.expected_live)
    PACER_HEADROOM.labels(campaign=campaign).set(inputs.headroom)
    PACER_ANSWER_RATE.labels(campaign=campaign).set(inputs.answer_rate)
    PACER_HUMAN_RATE.labels(campaign=campaign).set(inputs.human_rate)
    PACER_TALK_SECONDS.labels(campaign=campaign).set(inputs.talk_seconds)
    PACER_WRAPUP_SECONDS.labels(campaign=campaign).set(inputs.wrapup_seconds)


def record_compliance_block(reason: str) -> None:
    COMPLIANCE_BLOCKS.labels(reason=_closed(reason, COMPLIANCE_REASONS)).inc()


def set_filter_list(name: str, entries: int, loaded_at: float,
                    clock: Callable[[], float] = time.time) -> None:
    """A list's size and its refresh time (epoch seconds); the age is computed at scrape."""
    FILTER_ENTRIES.labels(list=name).set(entries)
    FILTER_AGE.labels(list=name).set_function(lambda: max(0.0, clock() - loaded_at))


def set_filter_ready(ready: bool) -> None:
    FILTER_READY.set(1 if ready else 0)


def set_connected(connection: str, up: bool) -> None:
    """``connection`` is one of ``ami``, ``ari``, ``db``."""
    if connection not in _CONNECTION_GAUGES:
        raise ValueError(f"unknown connection {connection!r}; expected one of {CONNECTIONS}")
    _CONNECTION_GAUGES[connection].set(1 if up else 0)


def set_loop_lag(seconds: float) -> None:
    LOOP_LAG.set(seconds)


def observe_db_write(op: str, seconds: float) -> None:
    DB_WRITE.labels(op=_closed(op, DB_WRITE_OPS)).observe(seconds)


@contextmanager
def time_db_write(op: str) -> Iterator[None]:
    """Time a database write: ``with time_db_write("attempt_insert"): ...``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_db_write(op, time.perf_counter() - start)


def forget_campaign(campaign: str) -> None:
    """Drop a removed campaign's series so dashboards stop showing it."""
    for gauge in _PER_CAMPAIGN:
        _remove(gauge, campaign)
    for state in (*AGENT_STATES, OTHER):
        _remove(AGENTS, campaign, state)
    for window in (*ABANDON_WINDOWS, OTHER):
        _remove(ABANDON_RATIO, campaign, window)


def _remove(metric: Gauge, *labels: str) -> None:
    with suppress(KeyError):
        metric.remove(*labels)
