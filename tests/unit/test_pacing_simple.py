"""Preview, progressive, power and the VICIdial-style baseline on hand-made snapshots."""

from __future__ import annotations

import pytest

from dialer.core.errors import ConfigError
from dialer.core.pacing import (
    PACERS,
    AdaptSettings,
    AdaptTapered,
    Ledger,
    Power,
    Preview,
    Progressive,
    Snapshot,
    make_pacer,
)


def snap(now: float = 100.0, *, ready: int = 0, talking: int = 0, ringing: int = 0,
         waiting: int = 0, **kw: object) -> Snapshot:
    return Snapshot(now=now, ready=(now - 5.0,) * ready, talking=(now - 30.0,) * talking,
                    ringing=(now - 3.0,) * ringing, waiting=waiting, **kw)  # type: ignore[arg-type]


def test_progressive_places_one_call_per_ready_agent() -> None:
    assert Progressive().decide(snap(ready=4, talking=6)).calls == 4


def test_progressive_counts_calls_already_ringing_for_ready_agents() -> None:
    assert Progressive().decide(snap(ready=4, ringing=3)).calls == 1
    assert Progressive().decide(snap(ready=2, ringing=5)).calls == 0


def test_power_keeps_ratio_calls_in_flight_per_ready_agent() -> None:
    assert Power(ratio=2.5).decide(snap(ready=4, ringing=3)).calls == 7


def test_preview_never_dials_on_its_own() -> None:
    pacer = Preview()
    assert pacer.agent_initiated
    assert pacer.decide(snap(ready=10)).calls == 0


@pytest.mark.parametrize("name", PACERS)
def test_team_of_zero_agents_gets_no_calls(name: str) -> None:
    pacer = make_pacer(name)
    for now in (0.0, 1.0, 16.0, 31.0):
        assert pacer.decide(snap(now, ringing=2)).calls == 0


def test_unknown_pacer_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pacer: unknown pacer 'turbo'"):
        make_pacer("turbo")


def test_decision_reports_dial_level_and_ledger_headroom() -> None:
    d = Progressive(limit=0.03).decide(snap(ready=2, talking=2, ledger=Ledger(200, 2)))
    assert d.calls == 2
    assert d.dial_level == pytest.approx(2 / 4)
    assert d.headroom == pytest.approx(0.03 * 200 - 2)


def run_adapt(pacer: AdaptTapered, seconds: int, **kw: object) -> int:
    calls = 0
    for t in range(seconds + 1):
        calls = pacer.decide(snap(float(t), **kw)).calls  # type: ignore[arg-type]
    return calls


def test_adapt_starts_at_one_line_per_agent() -> None:
    pacer = AdaptTapered()
    assert pacer.decide(snap(0.0, ready=3, talking=7)).calls == 3
    assert pacer.decide(snap(0.5, ready=3, talking=7, ringing=3)).calls == 0


def test_adapt_raises_its_level_while_agents_wait() -> None:
    pacer = AdaptTapered()
    run_adapt(pacer, 15, ready=5, talking=5)
    # diff = 5 ready - 0 waiting, agents 10: m = 0.5, level 1.0 -> 1.5
    assert pacer.level == pytest.approx(1.5)


def test_adapt_intensity_scales_the_step() -> None:
    pacer = AdaptTapered(AdaptSettings(intensity=20.0))
    run_adapt(pacer, 15, ready=5, talking=5)
    assert pacer.level == pytest.approx(1.0 + 0.5 * 1.2)


def test_adapt_level_is_clamped_between_one_and_the_maximum() -> None:
    pacer = AdaptTapered()
    run_adapt(pacer, 150, ready=10, talking=0)
    assert pacer.level == pytest.approx(3.0)
    lowered = AdaptTapered()
    run_adapt(lowered, 30, ready=0, talking=10, waiting=4)
    assert lowered.level == pytest.approx(1.0)


def test_adapt_halves_its_level_when_most_calls_of_the_last_minute_dropped() -> None:
    pacer = AdaptTapered()
    run_adapt(pacer, 45, ready=10, talking=0)
    before = pacer.level
    run_adapt_from(pacer, 46, 60, ready=10, last_minute=Ledger(30, 20))
    assert pacer.level < before


def run_adapt_from(pacer: AdaptTapered, start: int, end: int, **kw: object) -> None:
    for t in range(start, end + 1):
        pacer.decide(snap(float(t), **kw))  # type: ignore[arg-type]


def test_adapt_halving_takes_the_level_down_by_half() -> None:
    pacer = AdaptTapered(AdaptSettings(start_level=2.0))
    run_adapt(pacer, 15, ready=0, talking=10, last_minute=Ledger(30, 20))
    # diff 0 keeps the level at 2.0, then the drops halve it
    assert pacer.level == pytest.approx(1.0)


def test_adapt_tapers_toward_one_when_the_days_rate_is_over_target() -> None:
    early = AdaptTapered(AdaptSettings(start_level=2.0))
    run_adapt(early, 15, ready=0, talking=10, today=Ledger(100, 5), shift_fraction=0.25)
    assert early.level == pytest.approx(1.0 + 1.0 * 0.75 / 2)
    few_calls = AdaptTapered(AdaptSettings(start_level=2.0))
    run_adapt(few_calls, 15, ready=0, talking=10, today=Ledger(40, 5), shift_fraction=0.25)
    assert few_calls.level == pytest.approx(2.0)


def test_adapt_dials_level_times_agents_minus_lines() -> None:
    pacer = AdaptTapered(AdaptSettings(start_level=2.0))
    # 2.0 x (3 ready + 5 talking) - (4 ringing + 5 lines talking) = 7
    assert pacer.decide(snap(0.0, ready=3, talking=5, ringing=4)).calls == 7
