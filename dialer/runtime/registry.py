"""The engine's life in the registry: it beats its heartbeat, and on every beat it takes
back what dead engines left behind (see :mod:`dialer.store.engines`):

* leads they held and never dialled go back to their campaigns;
* open attempts of engines dead for ``orphan_grace`` whose Asterisk nobody drives any
  more are closed the safe way (nobody can see those calls again).

A beat that finds the engine's id taken over by a newer process stops this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from dialer.runtime.recovery import RetryBook, close_gone
from dialer.store import engines, hopper
from dialer.store.db import DB_DOWN
from dialer.store.open_attempts import unclaimed_orphans

log = structlog.get_logger("dialer.registry")


@dataclass
class Registry:
    pool: asyncpg.Pool
    reg: engines.Registration
    writer: Any
    book: RetryBook
    wall: Callable[[], Any]
    interval: float = 2.0
    stale: float = 15.0
    orphan_grace: float = 120.0
    on_fenced: Callable[[], None] = lambda: None
    swept: int = 0
    closed: set[str] = field(default_factory=set)

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
            except engines.Fenced as exc:
                log.error("engine stopping", reason=str(exc))
                self.on_fenced()
                return
            except DB_DOWN as exc:
                log.warning("heartbeat failed: database unreachable", error=str(exc))
            await asyncio.sleep(self.interval)

    async def beat(self) -> None:
        """One heartbeat and one sweep."""
        await engines.heartbeat(self.pool, self.reg, self.stale)
        swept = await hopper.sweep_dead_leases(self.pool, self.reg.engine_id, self.stale)
        if swept:
            log.info("leases of dead engines given back", leads=swept)
            self.swept += swept
        for row in await unclaimed_orphans(self.pool, self.reg.engine_id, self.stale,
                                           self.orphan_grace):
            if row.attempt_id not in self.closed:
                self.closed.add(row.attempt_id)
                outcome = await close_gone(self.writer, self.book, row, self.wall())
                log.warning("attempt of a dead engine closed", attempt_id=row.attempt_id,
                            engine=row.engine_id, outcome=outcome)
