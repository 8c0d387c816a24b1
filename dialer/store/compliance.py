"""The compliance filter in memory, kept current from Postgres.

``ComplianceFilter.start`` loads every list (binary COPY into bitmaps), the opt-outs, the
consents and recent attempts, then listens on ``dialer_compliance``. Each notification is
applied at once; a list swapped to a new version is reloaded in the background and swapped
in whole. A ping every ``ping_interval`` proves the feed alive. When it has not been proven
for ``staleness`` seconds, every check blocks with ``filter_unavailable`` until the feed is
back and everything has been reloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from dialer.core.compliance import (
    CampaignRules,
    Consent,
    FilterData,
    ListSet,
    NumberFacts,
    Verdict,
    check,
)
from dialer.core.compliance.verdict import UNAVAILABLE
from dialer.store import compliance_load as load
from dialer.store.db import DB_DOWN

CHANNEL = "dialer_compliance"
HISTORY = -1  # reload-queue item: reload consents and attempts (after a bulk import)
_RECOVERABLE = DB_DOWN


@dataclass(frozen=True, slots=True)
class ListHealth:
    name: str
    kind: str
    version: int | None
    entries: int
    age_s: float | None


@dataclass(frozen=True, slots=True)
class FilterHealth:
    """For ``/readyz`` and metrics."""

    ready: bool
    loaded: bool
    feed_age_s: float | None
    lists: tuple[ListHealth, ...]
    opt_outs: int
    reloads: int
    error: str | None


class ComplianceFilter:
    """One per engine. ``check`` is synchronous and reads memory only."""

    def __init__(self, *, staleness: float = 5.0, ping_interval: float = 0.5,
                 reload_interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.staleness = staleness
        self.reload_interval = reload_interval
        self.ping_interval = ping_interval
        self._clock = clock
        self._data: FilterData | None = None
        self._pool: asyncpg.Pool | None = None
        self._own_pool = False
        self._listen: asyncpg.Connection | None = None
        self._last_ok: float | None = None
        self._runner: asyncio.Task[None] | None = None
        self._reload_q: asyncio.Queue[int] = asyncio.Queue()
        self._journals: list[list[dict[str, Any]]] = []
        self.reloads = 0
        self.bad_events = 0
        self.last_bad_event: str | None = None
        self.blocks: Counter[str] = Counter()

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self, pool_or_dsn: asyncpg.Pool | str) -> None:
        """Load everything and start following the feed; raises when Postgres is down."""
        if isinstance(pool_or_dsn, str):
            self._pool = await asyncpg.create_pool(pool_or_dsn, min_size=1, max_size=4)
            self._own_pool = True
        else:
            self._pool = pool_or_dsn
        try:
            await self._connect_and_load()
        except BaseException:
            await self.stop()
            raise
        self._runner = asyncio.create_task(self._run(), name="compliance-feed")

    async def stop(self) -> None:
        """Stop the feed and close what the filter opened; a failure of the feed task is
        raised here."""
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
        finally:
            await self._close_listen()
            if self._own_pool and self._pool is not None:
                await self._pool.close()
            self._data = None

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._watch_feed())
            tg.create_task(self._reloader())
            if self.reload_interval:
                tg.create_task(self._periodic(self.reload_interval))

    async def _periodic(self, interval: float) -> None:
        """Reload every list and the history now and then, in the background."""
        while True:
            await asyncio.sleep(interval)
            for list_id in list(self._data.lists.lists) if self._data else ():
                self._reload_q.put_nowait(list_id)
            self._reload_q.put_nowait(HISTORY)

    # ---- checks ----------------------------------------------------------------------

    def ready(self) -> bool:
        if self._data is None or self._last_ok is None:
            return False
        return self._clock() - self._last_ok <= self.staleness

    def check(self, facts: NumberFacts | int | str, campaign: CampaignRules,
              now: datetime | None = None, *, agent_waiting: bool = False) -> Verdict:
        """The verdict from memory; ``filter_unavailable`` when not loaded or stale."""
        if not self.ready():
            return UNAVAILABLE
        return check(facts, campaign, now or datetime.now(UTC), self._data,
                     agent_waiting=agent_waiting)

    @property
    def data(self) -> FilterData | None:
        return self._data

    # ---- writes ----------------------------------------------------------------------

    async def record_block(self, verdict: Verdict, phone: int, *, campaign_id: int | None,
                           lead_id: int | None = None, attempt_id: str | None = None,
                           at: datetime | None = None) -> None:
        """Write a blocked verdict to ``compliance_audit`` with the list versions used."""
        versions = self._data.lists.versions() if self._data else {}
        self.blocks.update(verdict.reasons)
        await self._need_pool().execute(
            """INSERT INTO compliance_audit
                   (at, phone, campaign_id, lead_id, attempt_id, allowed, reasons, details,
                    list_versions)
               VALUES (coalesce($1, now()), $2, $3, $4, $5::uuid, $6, $7, $8::jsonb, $9::jsonb)""",
            at, phone, campaign_id, lead_id, attempt_id, verdict.allowed, list(verdict.reasons),
            json.dumps(verdict.to_json()["details"]), json.dumps(versions))

    async def add_opt_out(self, phone: int, channel: str, attempt_id: str | None = None,
                          reason: str | None = None) -> None:
        """Block the number here at once, then in Postgres (which tells every engine)."""
        if self._data is not None:
            self._data.lists.opt_outs.add(phone)
        await self._need_pool().execute(
            "INSERT INTO opt_outs (phone, channel, attempt_id, reason) VALUES ($1, $2, $3, $4)",
            phone, channel, attempt_id, reason)

    def note_attempt(self, phone: int, at: datetime, abandoned: bool, *,
                     campaign: str | None = None, live_answer: bool = False,
                     attempt_id: str | None = None) -> None:
        """Count an attempt for caps and cooldowns, and the campaign's abandon ledger."""
        if self._data is None:
            return
        row = {"phone": phone, "at": at, "abandoned": abandoned, "id": attempt_id,
               "campaign": campaign, "live_answer": live_answer or abandoned}
        load.note_row(self._data.history, row)

    def abandon_counts(self, campaign: str, since: datetime, until: datetime
                       ) -> tuple[int, int]:
        """(abandoned, live answers) of a campaign, every engine's, in (since, until]."""
        if self._data is None:
            return 0, 0
        return self._data.history.ledger.counts(campaign, since, until)

    def _need_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the compliance filter is not started")
        return self._pool

    # ---- health ----------------------------------------------------------------------

    def health(self, now: datetime | None = None) -> FilterHealth:
        now = now or datetime.now(UTC)
        lists = self._data.lists.lists.values() if self._data else ()
        feed_age = None if self._last_ok is None else self._clock() - self._last_ok
        return FilterHealth(
            ready=self.ready(), loaded=self._data is not None, feed_age_s=feed_age,
            lists=tuple(ListHealth(d.name, d.kind, d.version, len(d.numbers),
                                   (now - d.loaded_at).total_seconds() if d.loaded_at else None)
                        for d in lists),
            opt_outs=len(self._data.lists.opt_outs) if self._data else 0,
            reloads=self.reloads, error=self._error())

    def _error(self) -> str | None:
        runner = self._runner
        if runner is None or not runner.done() or runner.cancelled():
            return None
        exc = runner.exception()
        return repr(exc) if exc else None

    # ---- loading ---------------------------------------------------------------------

    async def _connect_and_load(self) -> None:
        """LISTEN first, so nothing is missed while loading; then load everything."""
        await self._close_listen()
        conn = await _connect_like(self._need_pool())
        await conn.add_listener(CHANNEL, self._on_notify)
        self._listen = conn
        journal: list[dict[str, Any]] = []
        self._journals.append(journal)
        try:
            async with self._need_pool().acquire() as work:
                data = await _load_all(work)
            self._data = _replay(data, journal)
        finally:
            self._journals.remove(journal)
        self._last_ok = self._clock()

    async def _close_listen(self) -> None:
        conn, self._listen = self._listen, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    # ---- the feed --------------------------------------------------------------------

    async def _watch_feed(self) -> None:
        while True:
            with contextlib.suppress(*_RECOVERABLE):
                await self._ping_forever()
            await self._reconnect()

    async def _ping_forever(self) -> None:
        while True:
            conn = self._listen
            if conn is None or conn.is_closed():
                return
            await asyncio.wait_for(conn.execute("SELECT 1"), timeout=self.ping_interval * 2)
            self._last_ok = self._clock()
            await asyncio.sleep(self.ping_interval)

    async def _reconnect(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._connect_and_load()
                return
            except _RECOVERABLE:
                await self._close_listen()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
            if not isinstance(event, dict):
                raise TypeError("not a JSON object")
            self._take(event)
        except (ValueError, TypeError, KeyError) as exc:
            self.bad_events += 1
            self.last_bad_event = f"{exc!r} in {payload[:200]!r}"

    def _take(self, event: dict[str, Any]) -> None:
        if event.get("t") in ("list", "history"):
            self._reload_q.put_nowait(int(event.get("id", HISTORY)))
            return
        for journal in self._journals:
            journal.append(event)
        if self._data is not None and _apply(self._data, event) == "stale":
            self._reload_q.put_nowait(int(event["list"]))

    async def _reloader(self) -> None:
        while True:
            list_id = await self._reload_q.get()
            with contextlib.suppress(*_RECOVERABLE):
                if list_id == HISTORY:
                    await self._reload_history()
                else:
                    await self._reload_list(list_id)

    async def _reload_history(self) -> None:
        journal: list[dict[str, Any]] = []
        self._journals.append(journal)
        try:
            async with self._need_pool().acquire() as conn:
                history = await load.load_history(conn, datetime.now(UTC))
            if self._data is not None:
                self._data = _replay(replace(self._data, history=history), journal)
                self.reloads += 1
        finally:
            self._journals.remove(journal)

    async def _reload_list(self, list_id: int) -> None:
        """Load a list's current version aside, then swap it in whole."""
        journal: list[dict[str, Any]] = []
        self._journals.append(journal)
        try:
            async with self._need_pool().acquire() as conn:
                rows = await load.list_rows(conn, list_id)
                fresh = await load.load_list(conn, rows[0]) if rows else None
            current = self._data
            if current is not None:
                lists = current.lists.with_list(fresh) if fresh else current.lists.without(list_id)
                self._data = _replay(replace(current, lists=lists), journal)
                self.reloads += 1
        finally:
            self._journals.remove(journal)


async def _connect_like(pool: asyncpg.Pool) -> asyncpg.Connection:
    """A dedicated connection with the pool's own settings (LISTEN must not use the pool)."""
    args = getattr(pool, "_connect_args", None)
    kwargs = getattr(pool, "_connect_kwargs", None)
    if args is None or kwargs is None:
        raise RuntimeError("cannot open the LISTEN connection: unknown pool settings")
    return await asyncpg.connect(*args, **kwargs)


def _replay(data: FilterData, journal: list[dict[str, Any]]) -> FilterData:
    """Apply again what the feed said while ``data`` was loading (every event is idempotent)."""
    for event in journal:
        _apply(data, event)
    return data


async def _load_all(conn: asyncpg.Connection) -> FilterData:
    lists = {}
    for row in await load.list_rows(conn):
        dnc = await load.load_list(conn, row)
        lists[dnc.id] = dnc
    opt_outs = await load.load_opt_outs(conn)
    history = await load.load_history(conn, datetime.now(UTC))
    return FilterData(ListSet.build(lists, opt_outs), history)


def _apply(data: FilterData, event: dict[str, Any]) -> str:
    """Apply one feed event to the data in place; "stale" when a list must be reloaded."""
    kind = event.get("t")
    if kind == "optout":
        data.lists.opt_outs.add(int(event["phone"]))
    elif kind == "dnc":
        dnc = data.lists.lists.get(int(event["list"]))
        if dnc is None or dnc.version != event.get("version"):
            return "stale"
        dnc.numbers.add(int(event["phone"]))
    elif kind == "consent":
        data.history.consents.upsert(_consent(event))
    elif kind == "attempt":
        load.note_row(data.history, _attempt(event))
    return "ok"


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _consent(e: dict[str, Any]) -> Consent:
    obtained = _ts(e["obtained_at"])
    assert obtained is not None
    return Consent(int(e["phone"]), e["scope"], e["type"], obtained, _ts(e.get("expires_at")),
                   _ts(e.get("revoked_at")), int(e["id"]))


def _attempt(e: dict[str, Any]) -> dict[str, Any]:
    return {"phone": int(e["phone"]), "at": _ts(e["at"]), "abandoned": bool(e["abandoned"]),
            "id": e.get("id"), "campaign": e.get("campaign"), "live_answer": bool(e["live"])}
