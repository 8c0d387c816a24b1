"""The short chaos run of `make test`: every fault kind at least once, on real
processes, from a fixed seed; any violation of the invariants fails the suite."""

from __future__ import annotations

import pytest

from dialer.chaos.faults import FAULTS
from dialer.chaos.run import ChaosOptions, run_chaos


@pytest.mark.timeout(420)
async def test_a_short_chaos_run_breaks_no_invariant(tmp_path) -> None:
    """Over ARI (the fault tests of test_faults.py originate over AMI)."""
    lines: list[str] = []
    report = await run_chaos(ChaosOptions(faults=len(FAULTS), seed=11, leads=2500,
                                          via="ari", out=tmp_path / "chaos"), lines.append)
    assert len(report.outcomes) == len(FAULTS)
    assert {o.kind for o in report.outcomes} == set(FAULTS)
    assert report.survived == len(FAULTS), "\n".join(lines)
    assert report.all_violations() == [], "\n".join(lines + report.all_violations())
    assert report.calls > 100
