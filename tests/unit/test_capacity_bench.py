"""The pure parts of `dialer bench engine --real`: when a step counts as saturated, the
leads it dials, the CPU read from /proc, and the errors for a given Asterisk."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dialer.cmd.engine import _rates
from dialer.testing import procstat
from dialer.testing.capacity import Step, verdict
from dialer.testing.capacity_options import CapacityError, CapacityOptions
from dialer.testing.capacity_setup import given_target, lead_numbers


def step(asked: float, placed: float, answers: list[float], late: int = 0) -> Step:
    return Step(asked, placed_per_s=placed, answer_s=answers, late=late)


@pytest.mark.parametrize(("s", "why"), [
    (step(20, 19.8, [2.0, 2.1, 2.05]), ""),
    (step(20, 17.0, [2.0]), "placed 17/s of 20/s asked"),
    (step(20, 20.0, [3.5, 3.2, 2.9]), "answers 3.2 s after the originate (ring 2 s)"),
    (step(20, 20.0, [2.0] * 18, late=2), "2 of 20 answers later than 5 s"),
    (step(20, 20.0, [], late=3), "answers inf s after the originate (ring 2 s)")])
def test_a_step_saturates_when_the_rate_or_the_answers_stop_following(s: Step, why: str) -> None:
    assert verdict(s, ring_s=2.0) == why


def test_the_leads_are_distinct_people_of_the_test_carrier() -> None:
    numbers = lead_numbers(50_000)
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 10 and n.startswith("212") and n[-1] in "0123" for n in numbers)


def test_cpu_seconds_are_read_after_a_command_name_with_spaces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "42").mkdir()
    ticks = procstat.CLOCK_TICKS
    fields = ["S", "1", *["0"] * 9, str(3 * ticks), str(ticks), str(ticks), "0"]
    (tmp_path / "42" / "stat").write_text(f"42 (asterisk (main) x) {' '.join(fields)} 0 0\n")
    monkeypatch.setattr(procstat, "PROC", tmp_path)
    assert procstat.cpu_seconds(42) == pytest.approx(4.0)
    assert procstat.tree_cpu_seconds(42) == pytest.approx(5.0)  # and a reaped child's
    with pytest.raises(procstat.ProcStatError, match="PID 7"):
        procstat.cpu_seconds(7)


def test_the_machine_share_counts_every_core(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stat").write_text("cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 5 0 5 35 5 0 0 0\n")
    monkeypatch.setattr(procstat, "PROC", tmp_path)
    assert procstat.machine_busy() == (20.0, 100.0)


def test_a_given_asterisk_needs_its_secrets_and_ari(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALER_AMI_SECRET", raising=False)
    monkeypatch.setenv("DIALER_ARI_PASSWORD", "x")
    with pytest.raises(CapacityError, match="DIALER_AMI_SECRET"):
        given_target(CapacityOptions(ami="10.0.0.5:5038", ari="http://10.0.0.5:8088"))
    monkeypatch.setenv("DIALER_AMI_SECRET", "y")
    with pytest.raises(CapacityError, match="HOST:PORT"):
        given_target(CapacityOptions(ami="10.0.0.5", ari="http://10.0.0.5:8088"))
    target = given_target(CapacityOptions(ami="10.0.0.5:5038", ari="http://10.0.0.5:8088/"))
    assert (target.ami_host, target.ami_port, target.ari_url) == (
        "10.0.0.5", 5038, "http://10.0.0.5:8088")


def test_rates_are_positive_numbers() -> None:
    assert _rates("5,10,20.5") == (5.0, 10.0, 20.5)
    for bad in ("5,x", "0,5", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _rates(bad)
