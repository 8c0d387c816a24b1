"""Event-loop lag: how late a timer fires, sampled on an interval.

A busy loop (a slow callback, a blocking call) delays every socket read; a dialer that
reads a live answer late abandons it. The sampler sleeps ``interval`` seconds and
records how much longer than that the sleep took, in ``dialer_event_loop_lag_seconds``.

Run it inside the engine's TaskGroup (``tg.create_task(sampler.run())``) or with
``async with sampler.running():``, which owns the task, cancels it on exit and raises
the task's error if it failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from dialer.obs import metrics


class LoopLagSampler:
    def __init__(self, interval: float = 0.5,
                 record: Callable[[float], None] = metrics.set_loop_lag) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self._record = record
        self.last: float | None = None
        self.worst = 0.0

    async def sample(self) -> float:
        """Sleep one interval and return (and record) the extra delay."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(self.interval)
        lag = max(0.0, loop.time() - start - self.interval)
        self.last, self.worst = lag, max(self.worst, lag)
        self._record(lag)
        return lag

    async def run(self) -> None:
        """Sample forever; stops only when cancelled."""
        while True:
            await self.sample()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LoopLagSampler]:
        task = asyncio.create_task(self.run(), name="loop-lag-sampler")
        try:
            yield self
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
