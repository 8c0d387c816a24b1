"""`dialer bench engine --ami ... --ari ...` on the tier's Asterisk: one short, slow step
of the capacity bench (docs/capacity.md) places what it asks, times the answers by the
ring, reads the CPU of the engine, Asterisk and PostgreSQL, and puts the carrier's
globals back."""

from __future__ import annotations

import pytest

from dialer.testing.asterisk import RealAsterisk
from dialer.testing.capacity import run_capacity
from dialer.testing.capacity_options import CapacityOptions

pytestmark = pytest.mark.real_asterisk


@pytest.mark.timeout(60)
async def test_one_step_of_the_capacity_bench_against_a_given_asterisk(
        asterisk: RealAsterisk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_AMI_SECRET", asterisk.keys.ami)
    monkeypatch.setenv("DIALER_ARI_PASSWORD", asterisk.keys.ari)
    assert asterisk.proc is not None
    options = CapacityOptions(rates=(4.0,), step_s=4.0, ami=f"127.0.0.1:{asterisk.ports.ami}",
                              ari=asterisk.ari_url, asterisk_pid=asterisk.proc.pid)
    lines: list[str] = []
    figures = await run_capacity(options, lines.append)
    [step] = figures["steps"]
    print(lines[0])
    assert step["saturated"] == ""
    assert 3.0 <= step["originates_per_s"] <= 5.0
    assert step["in_flight_median"] >= 6  # 4/s for 2 s and more: ring, AMD, message
    assert step["answer_s_median"] == pytest.approx(2.0, abs=0.5)  # SIM_RING=2
    assert step["amd_s_median"] == pytest.approx(1.58, abs=0.3)
    assert set(step["cpu"]) == {"engine", "asterisk", "postgres", "machine"}
    assert 0 < step["cpu"]["asterisk"] < 2.0
    assert "SIM_RING 2" in asterisk.cli("dialplan show globals").replace("=", " ")
