"""Every metric is defined once, in one module, with bounded labels; helpers update them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from dialer.core.agent import AgentState
from dialer.core.compliance.verdict import REASONS
from dialer.obs import metrics

PACKAGE = Path(metrics.__file__).resolve().parents[1]
REQUIRED = {
    "dialer_calls": {"campaign", "outcome"},
    "dialer_calls_in_flight": {"campaign"},
    "dialer_abandon_ratio": {"campaign", "window"},
    "dialer_agents": {"campaign", "state"},
    "dialer_answer_to_bridge_seconds": set(),
    "dialer_amd_results": {"result"},
    "dialer_dial_level": {"campaign"},
    "dialer_compliance_blocks": {"reason"},
    "dialer_filter_entries": {"list"},
    "dialer_filter_age_seconds": {"list"},
    "dialer_ami_connected": set(),
    "dialer_ari_connected": set(),
    "dialer_db_up": set(),
    "dialer_event_loop_lag_seconds": set(),
    "dialer_db_write_seconds": {"op"},
}
BOUNDED_LABELS = {"campaign", "outcome", "window", "state", "result", "reason", "list", "op"}


def dialer_metrics() -> dict[str, set[str]]:
    """Metric name -> label names, for every metric object the module defines."""
    found: dict[str, set[str]] = {}
    for attr in vars(metrics).values():
        if isinstance(attr, MetricWrapperBase):
            name = attr._name
            assert name not in found, f"{name} defined twice"
            found[name] = set(attr._labelnames)
    return found


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_required_metrics_exist_with_their_labels() -> None:
    found = dialer_metrics()
    for name, labels in REQUIRED.items():
        assert found.get(name) == labels, name


def test_every_dialer_series_in_the_registry_comes_from_the_module() -> None:
    defined = set(dialer_metrics())
    exposed = {family.name for family in metrics.REGISTRY.collect()
               if family.name.startswith("dialer_")}
    assert exposed == defined
    assert "_created" not in metrics.exposition().decode()


def test_labels_are_from_the_bounded_set_and_never_identify_a_call() -> None:
    for name, labels in dialer_metrics().items():
        assert labels <= BOUNDED_LABELS, name
        assert not labels & metrics.FORBIDDEN_LABEL_NAMES, name


def test_no_module_outside_obs_metrics_defines_a_prometheus_metric() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "metrics.py" and path.parent.name == "obs":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prometheus"):
                offenders.append(f"{path}: imports {node.module}")
    assert offenders == []


def test_exposition_contains_every_required_name() -> None:
    text = metrics.exposition().decode()
    for name in REQUIRED:
        metric_type = "counter" if name in ("dialer_calls", "dialer_amd_results",
                                            "dialer_compliance_blocks") else None
        exposed = f"{name}_total" if metric_type else name
        assert f"# HELP {exposed} " in text, name
        if metric_type:
            assert f"# TYPE {exposed} counter" in text


def test_closed_label_sets_fold_strangers_into_other() -> None:
    before = value("dialer_calls_total", campaign="labels", outcome="other")
    metrics.record_call("labels", "+12025550143")
    metrics.record_call("labels", "7d3f0a52-4c1e-4b8e-9a55-2f1c3b7e9d10")
    assert value("dialer_calls_total", campaign="labels", outcome="other") == before + 2
    metrics.record_amd("notsure")
    metrics.record_compliance_block("because")
    assert value("dialer_amd_results_total", result="NOTSURE") >= 1
    assert value("dialer_compliance_blocks_total", reason="other") >= 1
    text = metrics.exposition().decode()
    assert "+12025550143" not in text and "7d3f0a52" not in text


def test_call_and_compliance_helpers_count() -> None:
    before = value("dialer_calls_total", campaign="helpers", outcome="busy")
    blocks = value("dialer_compliance_blocks_total", reason="dnc_state")
    metrics.record_call("helpers", "busy")
    metrics.record_compliance_block("dnc_state")
    assert value("dialer_calls_total", campaign="helpers", outcome="busy") == before + 1
    assert value("dialer_compliance_blocks_total", reason="dnc_state") == blocks + 1


def test_gauge_helpers_set_campaign_figures() -> None:
    metrics.set_calls_in_flight("gauges", 12)
    metrics.set_dial_level("gauges", 2.5)
    metrics.set_abandon("gauges", "rolling_30d", 0.021, 0.03)
    metrics.set_pacer_inputs("gauges", metrics.PacerInputs(4, 3.0, 0.35, 0.6, 95.0, 12.0))
    assert value("dialer_calls_in_flight", campaign="gauges") == 12
    assert value("dialer_dial_level", campaign="gauges") == 2.5
    assert value("dialer_abandon_ratio", campaign="gauges", window="rolling_30d") == 0.021
    assert value("dialer_abandon_target", campaign="gauges") == 0.03
    assert value("dialer_pacer_calls_wanted", campaign="gauges") == 4
    assert value("dialer_pacer_talk_seconds", campaign="gauges") == 95.0


def test_agents_by_state_writes_every_state_and_normalises_names() -> None:
    metrics.set_agents("roster", {"talking": 5, "wrap-up": 2})
    metrics.set_agents("roster", {"ready": 1})
    assert value("dialer_agents", campaign="roster", state="ready") == 1
    assert value("dialer_agents", campaign="roster", state="talking") == 0
    assert value("dialer_agents", campaign="roster", state="wrap_up") == 0


def test_filter_age_is_computed_at_scrape_time() -> None:
    now = [1000.0]
    metrics.set_filter_list("national-test", 258_500_000, loaded_at=940.0, clock=lambda: now[0])
    assert value("dialer_filter_entries", list="national-test") == 258_500_000
    assert value("dialer_filter_age_seconds", list="national-test") == 60.0
    now[0] = 1300.0
    assert value("dialer_filter_age_seconds", list="national-test") == 360.0


def test_connection_gauges_and_unknown_connection() -> None:
    for name, metric in (("ami", "dialer_ami_connected"), ("ari", "dialer_ari_connected"),
                         ("db", "dialer_db_up")):
        metrics.set_connected(name, False)
        assert value(metric) == 0
        metrics.set_connected(name, True)
        assert value(metric) == 1
    with pytest.raises(ValueError, match="unknown connection 'redis'"):
        metrics.set_connected("redis", True)


def test_db_write_timer_observes_one_sample() -> None:
    before = value("dialer_db_write_seconds_count", op="attempt_insert")
    with metrics.time_db_write("attempt_insert"):
        pass
    assert value("dialer_db_write_seconds_count", op="attempt_insert") == before + 1


def test_forget_campaign_removes_its_series() -> None:
    metrics.set_dial_level("gone", 1.0)
    metrics.set_agents("gone", {"ready": 1})
    metrics.set_abandon("gone", "calendar_day", 0.01, 0.03)
    metrics.forget_campaign("gone")
    text = metrics.exposition().decode()
    assert 'campaign="gone"' not in text


def test_every_core_reason_and_agent_state_is_a_label_of_its_own() -> None:
    for reason in REASONS:
        before = value("dialer_compliance_blocks_total", reason=reason)
        metrics.record_compliance_block(reason)
        assert value("dialer_compliance_blocks_total", reason=reason) == before + 1
    metrics.set_agents("states", {state.value: 1 for state in AgentState})
    for state in AgentState:
        assert value("dialer_agents", campaign="states", state=state.value) == 1
    metrics.forget_campaign("states")
