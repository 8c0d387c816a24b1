"""Attempt records: one ``call_attempts`` row per call, written behind the engine's back.

The engine calls :class:`AttemptWriter`'s ``begin``/``update``/``finish`` without waiting.
Writes queue in memory in call order and a background task flushes them in batches, one
transaction per batch. When Postgres is unreachable the queue keeps growing (up to
``max_buffer`` writes, then :class:`BufferFull`), ``db_up`` turns false, and the writer
retries with backoff until everything is written; an idle writer probes Postgres every
``probe_every`` seconds, so ``db_up`` tells the engine when to stop dialing. Every write is
idempotent, so a batch written again after a lost commit acknowledgement changes nothing
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dialer.core.retry import RetryDecision
from dialer.store.attempt_sql import (
    _BEGIN,
    _DISPOSITION,
    _FINISH,
    _SETTLE,
    _column_value,
    _int,
    _json_arg,
    _json_loads,
    _lead_args,
    _timestamp,
    _uuid,
)
from dialer.store.db import DB_DOWN

_TRANSIENT = DB_DOWN
# What Postgres (or asyncpg, for a value it cannot encode) refuses for the data itself.
_BAD_DATA = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, ValueError, TypeError)


def _refused(exc: BaseException) -> bool:
    """Writing the same data again cannot help."""
    return isinstance(exc, _BAD_DATA)


def _outage(exc: BaseException) -> bool:
    """Postgres unreachable, restarting, refusing logins...: keep the writes and retry."""
    return isinstance(exc, _TRANSIENT) and not _refused(exc)


class BufferFull(RuntimeError):
    """The outage buffer is full: the write was refused, nothing was dropped."""


class WriterFailed(RuntimeError):
    """The writer's background task died; its exception is the cause."""


@dataclass(frozen=True, slots=True)
class _Op:
    keys: tuple[str, ...]   # writes sharing a key are applied in queue order
    sql: str
    args: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A write Postgres refused (not an outage): kept for inspection, then skipped."""

    sql: str
    args: tuple[object, ...]
    error: str


class AttemptWriter:
    """Buffered, ordered, batched writes of attempts and their leads."""

    def __init__(self, pool: asyncpg.Pool, *, max_buffer: int = 100_000,
                 batch_size: int = 1000, write_timeout: float = 5.0,
                 backoff: tuple[float, float] = (0.05, 2.0), probe_every: float | None = 1.0,
                 on_write: Callable[[float], None] | None = None,
                 on_reject: Callable[[Rejected], None] | None = None) -> None:
        self._pool = pool
        self.probe_every = probe_every
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.write_timeout = write_timeout
        self._backoff = backoff
        self._delay = backoff[0]
        self._on_write = on_write
        self._on_reject = on_reject
        self._queue: deque[_Op] = deque()
        self._leads: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._queued = 0
        self._done = 0
        self.db_up = True
        self.last_error: str | None = None
        self.rejected: list[Rejected] = []

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("AttemptWriter already started")
        self._task = asyncio.create_task(self._run(), name="attempt-writer")

    async def stop(self, timeout: float = 10.0) -> int:
        """Flush for up to ``timeout`` seconds; returns how many writes were left unwritten.

        A failure of the background task is raised here.
        """
        task, self._stopping = self._task, True
        self._wake.set()
        if task is None:
            return self.pending
        await asyncio.wait({task}, timeout=timeout)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and task.exception() is not None:
            raise WriterFailed("the attempt writer failed") from task.exception()
        return self.pending

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued before this call is written (TimeoutError if not)."""
        target = self._queued
        async with asyncio.timeout(timeout):
            while self._done < target:
                self._check_alive()
                self._progress.clear()
                await self._progress.wait()

    @property
    def pending(self) -> int:
        return len(self._queue)

    # ---- the engine's calls (never block) --------------------------------------------

    def begin(self, attempt_id: str, campaign_id: int, lead_id: int | None, phone: int,
              engine_id: str, via: str, compliance: Mapping[str, Any] | None,
              at: datetime) -> None:
        """Create the attempt's row and mark its lead ``dialing``."""
        aid = _uuid(attempt_id)
        ints = [_int(n, v) for n, v in (("campaign_id", campaign_id), ("phone", phone))]
        lead_id = None if lead_id is None else _int("lead_id", lead_id)
        args = (aid, ints[0], lead_id, ints[1], engine_id, via,
                _json_arg("compliance", compliance), _timestamp("at", at))
        if lead_id is not None:
            self._leads[str(aid)] = lead_id
        self._put(_Op(self._keys(aid), _BEGIN, args))

    def track(self, attempt_id: str, lead_id: int | None) -> None:
        """An attempt begun elsewhere (:func:`begin_attempts`): order its writes with
        its lead's."""
        if lead_id is not None:
            self._leads[str(_uuid(attempt_id))] = _int("lead_id", lead_id)

    def update(self, attempt_id: str, fields: Mapping[str, object]) -> None:
        """Set some columns of the attempt; an unknown column or a bad value raises here."""
        if not fields:
            return
        aid = _uuid(attempt_id)
        names = sorted(fields)
        converted = [_column_value(name, fields[name]) for name in names]
        sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=2))
        sql = f"UPDATE call_attempts SET {sets} WHERE id = $1"
        self._put(_Op(self._keys(aid), sql, (aid, *converted)))

    def finish(self, attempt_id: str, outcome: str, at: datetime,
               retry: RetryDecision) -> None:
        """End the attempt and apply ``retry`` to its lead (attempts, status, lease)."""
        aid = _uuid(attempt_id)
        self._put(_Op(self._keys(aid), _FINISH, (aid, *_lead_args(outcome, at, retry))))
        self._leads.pop(str(aid), None)

    def settle(self, lead_id: int, outcome: str, retry: RetryDecision) -> None:
        """Apply ``retry`` to a leased lead that was not dialled (e.g. blocked)."""
        _, _, *rest = _lead_args(outcome, None, retry)
        self._put(_Op((f"lead:{lead_id}",), _SETTLE, (_int("lead_id", lead_id), outcome, *rest)))

    def disposition(self, attempt_id: str, agent_id: int | None, code: str,
                    notes: str | None, at: datetime) -> None:
        """Record an agent's disposition after the attempt's own writes (outage-safe)."""
        if not code:
            raise ValueError("a disposition needs a code")
        aid = _uuid(attempt_id)
        agent = None if agent_id is None else _int("agent_id", agent_id)
        self._put(_Op(self._keys(aid), _DISPOSITION,
                      (aid, agent, code, notes, _timestamp("at", at))))

    def _keys(self, aid: uuid.UUID) -> tuple[str, ...]:
        lead = self._leads.get(str(aid))
        return (str(aid),) if lead is None else (str(aid), f"lead:{lead}")

    def _put(self, op: _Op) -> None:
        self._check_alive()
        if len(self._queue) >= self.max_buffer:
            raise BufferFull(f"attempt writes buffered: {len(self._queue)} of max_buffer "
                             f"{self.max_buffer}; Postgres unreachable ({self.last_error})")
        self._queue.append(op)
        self._queued += 1
        self._wake.set()

    def _check_alive(self) -> None:
        task = self._task
        if task is not None and task.done() and not task.cancelled() and task.exception():
            raise WriterFailed("the attempt writer failed") from task.exception()

    # ---- the flush loop --------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while self._queue or not self._stopping:
                await self._step()
        finally:
            self._progress.set()  # wake flush() so that it sees how the task ended

    async def _step(self) -> None:
        if not self._queue:
            await self._idle()
            return
        try:
            await self._write_head()
        except Exception as exc:
            if not _outage(exc):
                raise
            await self._down(exc)
        else:
            self._up()

    async def _idle(self) -> None:
        """Wait for writes; meanwhile probe Postgres now and then, so ``db_up`` stays true."""
        self._wake.clear()
        try:
            async with asyncio.timeout(self.probe_every):
                await self._wake.wait()
        except TimeoutError:
            await self._probe()

    async def _probe(self) -> None:
        try:
            async with asyncio.timeout(self.write_timeout):
                await self._pool.fetchval("SELECT 1")
        except Exception as exc:
            if not _outage(exc):
                raise
            self.db_up = False
            self.last_error = f"{type(exc).__name__}: {exc}"
        else:
            self._up()

    async def _write_head(self) -> None:
        batch = list(itertools.islice(self._queue, self.batch_size))
        try:
            await self._write(batch)
        except Exception as exc:
            if not _refused(exc):
                raise
            await self._write_singly(len(batch))
        else:
            self._advance(len(batch))

    async def _write(self, batch: list[_Op]) -> None:
        started = time.perf_counter()
        async with (asyncio.timeout(self.write_timeout), self._pool.acquire() as conn,
                    conn.transaction()):
            for group in _layers(batch):
                await conn.executemany(group[0].sql, [op.args for op in group])
        if self._on_write is not None:
            self._on_write(time.perf_counter() - started)

    async def _write_singly(self, count: int) -> None:
        """A batch Postgres refused: write its ops one by one and set aside the bad ones."""
        for _ in range(count):
            op = self._queue[0]
            try:
                await self._write([op])
            except Exception as exc:
                if not _refused(exc):
                    raise
                self._reject(op, exc)
            self._advance(1)

    def _reject(self, op: _Op, exc: Exception) -> None:
        bad = Rejected(op.sql, op.args, f"{type(exc).__name__}: {exc}")
        self.rejected.append(bad)
        if self._on_reject is not None:
            self._on_reject(bad)

    def _advance(self, count: int) -> None:
        for _ in range(count):
            self._queue.popleft()
        self._done += count
        self._progress.set()

    async def _down(self, exc: BaseException) -> None:
        self.db_up = False
        self.last_error = f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self._backoff[1])

    def _up(self) -> None:
        self.db_up = True
        self._delay = self._backoff[0]


@dataclass(frozen=True, slots=True)
class Intent:
    """An attempt about to be originated: its row exists before the Originate leaves."""

    attempt_id: str
    campaign_id: int
    lead_id: int | None
    phone: int
    engine_id: str
    via: str
    compliance: Mapping[str, Any] | None
    at: datetime


async def begin_attempts(pool: asyncpg.Pool, intents: list[Intent]) -> None:
    """Commit the rows (and mark their leads ``dialing``) in one transaction; only then
    may the calls be placed. Raises when Postgres is unreachable: nothing is dialled."""
    if not intents:
        return
    args = [(_uuid(i.attempt_id), _int("campaign_id", i.campaign_id),
             None if i.lead_id is None else _int("lead_id", i.lead_id), _int("phone", i.phone),
             i.engine_id, i.via, _json_arg("compliance", i.compliance),
             _timestamp("at", i.at)) for i in intents]
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(_BEGIN, args)


def _layers(batch: list[_Op]) -> list[list[_Op]]:
    """Groups of one SQL each, in an order that keeps every key's writes in queue order."""
    depth: dict[str, int] = {}
    layers: list[dict[str, list[_Op]]] = []
    for op in batch:
        level = max(depth.get(k, 0) for k in op.keys)
        for k in op.keys:
            depth[k] = level + 1
        if level == len(layers):
            layers.append({})
        layers[level].setdefault(op.sql, []).append(op)
    return [group for layer in layers for group in layer.values()]


async def attempt(pool: asyncpg.Pool, attempt_id: str) -> dict[str, Any] | None:
    """One attempt's row as a dict (``compliance`` decoded, with ``campaign_name`` and
    ``agent_name``), or None when unknown."""
    row = await pool.fetchrow(
        "SELECT a.*, c.name AS campaign_name, g.name AS agent_name FROM call_attempts a "
        "JOIN campaigns c ON c.id = a.campaign_id LEFT JOIN agents g ON g.id = a.agent_id "
        "WHERE a.id = $1", _uuid(attempt_id))
    if row is None:
        return None
    out = dict(row)
    out["id"] = str(row["id"])
    out["compliance"] = _json_loads(row["compliance"])
    return out


async def lead_of(pool: asyncpg.Pool, attempt_id: str) -> tuple[int, int] | None:
    """(lead id, campaign id) of an attempt, or None when unknown or lead-less."""
    row = await pool.fetchrow("SELECT lead_id, campaign_id FROM call_attempts WHERE id = $1",
                              _uuid(attempt_id))
    if row is None or row["lead_id"] is None:
        return None
    return int(row["lead_id"]), int(row["campaign_id"])
