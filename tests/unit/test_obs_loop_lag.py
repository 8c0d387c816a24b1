"""The event-loop lag sampler records how late its timer fires."""

from __future__ import annotations

import asyncio
import time

import pytest

from dialer.obs import metrics
from dialer.obs.loop_lag import LoopLagSampler


async def test_a_blocked_loop_shows_up_as_lag() -> None:
    recorded: list[float] = []
    sampler = LoopLagSampler(interval=0.02, record=recorded.append)
    async with sampler.running():
        await asyncio.sleep(0.001)
        time.sleep(0.15)  # block the loop, as a slow callback would
        while not recorded or max(recorded) == 0.0:
            await asyncio.sleep(0.01)
    assert max(recorded) >= 0.1
    assert sampler.worst == max(recorded)


async def test_samples_feed_the_lag_gauge() -> None:
    sampler = LoopLagSampler(interval=0.01)
    metrics.set_loop_lag(-1.0)
    lag = await sampler.sample()
    assert lag >= 0.0
    assert metrics.REGISTRY.get_sample_value("dialer_event_loop_lag_seconds") == lag


async def test_leaving_the_context_stops_the_task() -> None:
    sampler = LoopLagSampler(interval=0.01)
    async with sampler.running():
        await asyncio.sleep(0.03)
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "loop-lag-sampler" not in names


async def test_a_failing_recorder_surfaces_when_the_context_exits() -> None:
    def broken(_: float) -> None:
        raise RuntimeError("recorder broke")

    sampler = LoopLagSampler(interval=0.01, record=broken)
    with pytest.raises(RuntimeError, match="recorder broke"):
        async with sampler.running():
            await asyncio.sleep(0.05)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        LoopLagSampler(interval=0)
