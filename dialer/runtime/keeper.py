"""Keeps the record and Asterisk in step: the takeover at start (nothing is dialled
before it is done), then a reconciliation pass after every reconnect and on a timer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from dialer.adapters.ari.errors import AriError
from dialer.runtime.reconcile import Reconciler, look
from dialer.runtime.recovery import Recovery
from dialer.store import engines
from dialer.store.db import DB_DOWN
from dialer.store.open_attempts import open_attempts

log = structlog.get_logger("dialer.keeper")
_TRANSIENT = (AriError, *DB_DOWN)


@dataclass
class Keeper:
    """``ari_up()`` tells whether ARI is connected now."""

    recovery: Recovery
    reconciler: Reconciler
    reg: engines.Registration
    asterisk: str
    stale: float
    interval: float
    ari_up: Callable[[], bool]
    recovered: asyncio.Event = field(default_factory=asyncio.Event)
    passes: int = 0
    _kick: asyncio.Event = field(default_factory=asyncio.Event)
    _since: float | None = None

    def reconnected(self, adapter: str, at: float) -> None:
        """A connection came back at engine time ``at``: reconcile now."""
        self._since = at if self._since is None else max(self._since, at)
        self._kick.set()

    async def run(self) -> None:
        await self._retrying(self._take_over)
        self.recovered.set()
        log.info("engine in step with Asterisk: dialing may start")
        while True:
            await self._wait()
            if self.ari_up():
                await self._pass()

    async def _take_over(self) -> None:
        pool = self.recovery.pool
        owners = await engines.dead_on(pool, self.reg, self.asterisk, self.stale)
        rows = await open_attempts(pool, owners)
        view = await look(self.reconciler.ari)
        await self.recovery.run(owners, rows, view, self.reg.last_beat)
        await self.reconciler.run_once()

    async def _retrying(self, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            while not self.ari_up():
                await asyncio.sleep(0.05)
            try:
                await job()
                return
            except _TRANSIENT as exc:
                log.warning("takeover postponed", error=str(exc))
                await asyncio.sleep(1.0)

    async def _wait(self) -> None:
        try:
            async with asyncio.timeout(self.interval):
                await self._kick.wait()
        except TimeoutError:
            pass
        self._kick.clear()

    async def _pass(self) -> None:
        since, self._since = self._since, None
        try:
            await self.reconciler.run_once(since)
            self.passes += 1
        except _TRANSIENT as exc:
            log.warning("reconciliation postponed", error=str(exc))
            await asyncio.sleep(1.0)
            if since is not None:
                self.reconnected("retry", since)
