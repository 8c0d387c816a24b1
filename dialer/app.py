"""The composition root: builds every part from the config, runs them, and drains
on stop (SIGTERM): no new calls, live calls finish up to a deadline, nothing is left.

At start the engine registers itself (refusing what cannot work, such as a second
engine on the same Asterisk), takes over what dead engines left on its Asterisk, and
only then dials. Everything the engine runs is a task of one TaskGroup, so an error
anywhere surfaces.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import structlog

from dialer.adapters.agi.server import FastAgiServer
from dialer.adapters.ami.types import AmiConfig as AmiClientConfig
from dialer.adapters.ari.client import AriConfig as AriClientConfig
from dialer.adapters.executor import Clock, Executor
from dialer.api.app import create_app, serving
from dialer.api.auth import TokenAuth
from dialer.campaigns import campaign_from_mapping
from dialer.config import Config, agi_allowed_hosts
from dialer.core.campaign import Engine
from dialer.core.compliance import parse_campaign_rules
from dialer.core.compliance.rules import RulesTable, parse_rules_table
from dialer.core.errors import ConfigError
from dialer.obs import metrics
from dialer.obs.loop_lag import LoopLagSampler
from dialer.runtime import gauges, telephony
from dialer.runtime.agents import AgentRecords
from dialer.runtime.agi_hooks import AgiHooks
from dialer.runtime.control import EngineControl
from dialer.runtime.dialing import CampaignDialer, CampaignSetup, DialerDeps
from dialer.runtime.drain import drain
from dialer.runtime.keeper import Keeper
from dialer.runtime.occupancy import Occupancy
from dialer.runtime.recent import Recent
from dialer.runtime.reconcile import Reconciler
from dialer.runtime.recovery import Recovery, RetryBook
from dialer.runtime.registry import Registry
from dialer.runtime.service import EngineService
from dialer.runtime.sinks import MetricsFeed, Sinks
from dialer.schema import load_yaml_file
from dialer.store import agents as store_agents
from dialer.store import campaigns as campaign_store
from dialer.store import engines, hopper
from dialer.store.attempts import AttemptWriter, lead_of
from dialer.store.compliance import ComplianceFilter
from dialer.store.db import create_pool
from dialer.store.migrate import discover, schema_version
from dialer.store.open_attempts import known_closed

log = structlog.get_logger("dialer.app")


class StartupError(RuntimeError):
    """The engine cannot start; the message says what to fix."""


@dataclass
class AppHooks:
    """Extension points for `dialer demo` and the tests."""

    compliance_skew: timedelta = timedelta(0)
    on_started: Callable[[DialerApp], Coroutine[Any, Any, None]] | None = None
    ami_auth: str = "md5"
    samples: bool = False  # keep answer-to-bridge samples (benchmarks)


@dataclass
class Parts:
    pool: asyncpg.Pool
    compliance: ComplianceFilter
    writer: AttemptWriter
    service: EngineService
    sinks: Sinks
    occupancy: Occupancy
    records: AgentRecords
    tel: telephony.Telephony | None = None
    dialers: dict[str, CampaignDialer] = field(default_factory=dict)
    keeper: Keeper | None = None
    registry: Registry | None = None


def asterisk_key(ari_url: str) -> str:
    """Which Asterisk an engine drives: its ARI address, a loopback one named by host."""
    url = urlsplit(ari_url)
    host = url.hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        host = socket.gethostname()
    return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"


async def check_schema(pool: asyncpg.Pool) -> None:
    latest = max(m.version for m in discover())
    have = await schema_version(pool)
    if have < latest:
        raise StartupError(f"the database schema is at version {have}, the engine needs "
                           f"{latest}: run `dialer db migrate`")


async def load_campaigns(pool: asyncpg.Pool, names: list[str],
                         table: RulesTable | None = None) -> list[CampaignSetup]:
    rows = await campaign_store.runnable(pool, names)
    unknown = sorted(set(names) - {row["name"] for row in rows})
    if unknown:
        raise StartupError(f"engine.campaigns names {', '.join(unknown)}, not in the "
                           "database: create it with `dialer campaign create`")
    setups = []
    for row in rows:
        raw = json.loads(row["definition"])
        compliance = raw.pop("compliance", {}) or {}
        definition = campaign_from_mapping({**raw, **compliance}, f"campaigns.{row['name']}")
        rules = parse_campaign_rules(compliance, f"campaigns.{row['name']}", name=row["name"],
                                     table=table)
        setups.append(CampaignSetup(row["id"], definition, rules, row["status"]))
    return setups


class DialerApp:
    """One engine process."""

    def __init__(self, cfg: Config, dsn: str, *, hooks: AppHooks | None = None) -> None:
        self.cfg, self.dsn = cfg, dsn
        self.hooks = hooks or AppHooks()
        self.engine_id = cfg.engine.engine_id or ""
        self.asterisk = asterisk_key(cfg.ari.url)
        self.registration: engines.Registration | None = None
        self.fenced = False
        self.parts: Parts | None = None
        self.started = asyncio.Event()
        self.recent: Recent
        self.http_port: int | None = None
        self.agi_port: int | None = None
        self.rules_table = load_rules_table(cfg.compliance.rules_file)

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.cfg
        pool = await create_pool(self.dsn, max_size=cfg.database.pool_size)
        try:
            await check_schema(pool)
            await self._run_with(pool, stop)
        finally:
            await pool.close()

    async def _register(self, pool: asyncpg.Pool) -> engines.Registration:
        e = self.cfg.engine
        try:
            reg = await engines.register(pool, engine_id=e.engine_id, host=socket.gethostname(),
                                         pid=os.getpid(), asterisk=self.asterisk,
                                         stale=e.heartbeat_timeout)
        except engines.EngineConflict as exc:
            raise StartupError(str(exc)) from None
        self.registration, self.engine_id = reg, reg.engine_id
        log.info("engine registered", engine_id=reg.engine_id, asterisk=self.asterisk,
                 run=reg.run_token)
        return reg

    async def _run_with(self, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        reg = await self._register(pool)
        compliance = ComplianceFilter(staleness=self.cfg.compliance.staleness,
                                      reload_interval=self.cfg.compliance.reload_interval)
        await compliance.start(pool)
        writer = AttemptWriter(pool, max_buffer=self.cfg.database.write_buffer,
                               on_write=lambda s: metrics.observe_db_write("attempt", s))
        writer.start()
        self.parts = self._parts(pool, compliance, writer)
        await hopper.release_leftovers(pool, reg.engine_id)
        clean = False
        try:
            async with asyncio.TaskGroup() as tg:
                await self._serve(tg, stop)
            clean = True
        finally:
            await writer.stop(timeout=10)
            await compliance.stop()
            if clean and not self.fenced:
                await engines.stopped(pool, reg)

    def _parts(self, pool: asyncpg.Pool, compliance: ComplianceFilter,
               writer: AttemptWriter) -> Parts:
        e = self.cfg.engine
        engine = Engine(wrapup_max=e.wrapup_max, phone_grace=e.phone_grace,
                        phone_giveup=e.phone_giveup)
        service = EngineService(engine, Clock(asyncio.get_running_loop()))
        records = AgentRecords(
            pool, self.engine_id, engine.agents.get,
            lambda a: service.executor.lines.line_of(a) if service.executor else None,
            self._campaign_id, lambda key, job: self._submit(key, job))
        parts = Parts(pool, compliance, writer, service,
                      Sinks(writer, compliance, records.agent_id),
                      Occupancy(service.clock.now), records)
        self.recent = Recent(service.clock.now)
        service.listeners += [parts.occupancy, records, self.recent.listener]
        return parts

    def _campaign_id(self, name: str | None) -> int | None:
        dialer = self.parts.dialers.get(name or "") if self.parts else None
        return dialer.setup.id if dialer else None

    def _ami_config(self) -> AmiClientConfig | None:
        a = self.cfg.ami
        if not a.enabled:
            return None
        return AmiClientConfig(host=a.host, port=a.port, username=a.username,
                               secret=a.secret or "", auth=self.hooks.ami_auth,  # type: ignore[arg-type]
                               ping_interval=a.ping_interval, ping_timeout=a.ping_timeout,
                               backoff_max=a.reconnect_max)

    def _ari_config(self) -> AriClientConfig:
        a = self.cfg.ari
        return AriClientConfig(base_url=a.url, username=a.username, password=a.password or "",
                               app=a.app, heartbeat=a.heartbeat, backoff_max=30.0)

    async def _serve(self, tg: asyncio.TaskGroup, stop: asyncio.Event) -> None:
        p = self.parts
        assert p is not None
        async with telephony.connect(tg, p.service, ami=self._ami_config(),
                                     ari=self._ari_config(), reconnected=self._reconnected,
                                     on_state=metrics.set_connected) as tel:
            tasks: list[asyncio.Task[None]] = []
            try:
                await self._serve_on(tg, tel, stop, tasks)
            finally:  # before the connections close, even when the engine is cancelled
                for task in tasks:
                    task.cancel()
                if tasks:
                    await asyncio.wait(tasks)

    async def _serve_on(self, tg: asyncio.TaskGroup, tel: telephony.Telephony,
                        stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        p, reg = self.parts, self.registration
        assert p is not None and reg is not None
        p.tel = tel
        p.service.executor = Executor(ami=tel.ami, ari=tel.ari, app=self.cfg.ari.app,
                                      clock=p.service.clock, feed=p.service.feed,
                                      attempts=p.sinks, ledgers=p.sinks,
                                      run_token=reg.run_token)
        tasks += [tg.create_task(p.service.run()), tg.create_task(gauges.run(p)),
                  tg.create_task(LoopLagSampler().run())]
        tasks += await self._start_dialers(tg)
        tasks += self._start_upkeep(tg, tel, stop)
        self.metrics_feed = MetricsFeed(p.service.clock.now, keep_samples=self.hooks.samples)
        p.service.listeners.append(self.metrics_feed)
        hooks = AgiHooks(p.service.feed, lambda: next(iter(p.dialers)) if len(p.dialers) == 1
                         else None)
        agi = FastAgiServer(hooks.handlers(), host=self.cfg.agi.host,
                            port=self.cfg.agi.port, max_sessions=self.cfg.agi.max_sessions,
                            allowed_hosts=agi_allowed_hosts(self.cfg))
        async with agi, serving(create_app(EngineControl(self), self._auth()),
                                self.cfg.http.host, self.cfg.http.port) as port:
            self.http_port, self.agi_port = port, agi.port
            self.started.set()
            log.info("engine started", http_port=port, campaigns=len(p.dialers))
            if self.hooks.on_started is not None:
                tasks.append(tg.create_task(self.hooks.on_started(self)))
            await stop.wait()
            await self.drain()

    def _start_upkeep(self, tg: asyncio.TaskGroup, tel: telephony.Telephony,
                      stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """The registry's heartbeat and sweeps, and the keeper's takeover and passes."""
        p, reg, e = self.parts, self.registration, self.cfg.engine
        assert p is not None and reg is not None
        book = RetryBook(p.pool)

        def fenced() -> None:
            self.fenced = True
            stop.set()

        p.registry = Registry(p.pool, reg, p.writer, book, p.service.clock.wall,
                              interval=e.heartbeat_interval, stale=e.heartbeat_timeout,
                              orphan_grace=e.orphan_grace, on_fenced=fenced)
        async def optout(phone: int, attempt_id: str) -> None:
            await p.compliance.add_opt_out(phone, "keypress", attempt_id=attempt_id)

        recovery = Recovery(p.service, p.pool, p.writer, p.records, p.dialers,
                            reg.engine_id, book, tel.ari, optout)
        reconciler = Reconciler(p.service, tel.ari, lambda ids: known_closed(p.pool, ids),
                                optout)
        p.keeper = Keeper(recovery, reconciler, reg, self.asterisk, e.heartbeat_timeout,
                          e.reconcile_interval, lambda: bool(tel.connected.get("ari")))
        return [tg.create_task(p.registry.run()), tg.create_task(p.keeper.run())]

    def _reconnected(self, adapter: str, at: float) -> None:
        keeper = self.parts.keeper if self.parts else None
        if keeper is not None:
            keeper.reconnected(adapter, at)

    def _auth(self) -> TokenAuth:
        return TokenAuth.from_config(self.cfg.api.tokens, os.environ)

    def schedule_callback(self, attempt_id: str, agent: str, due: datetime) -> None:
        """An agent asked to call this lead back at ``due``."""
        p = self.parts
        assert p is not None

        async def job() -> None:
            found = await lead_of(p.pool, attempt_id)
            if found is not None:
                await store_agents.schedule_callback(p.pool, *found, p.records.agent_id(agent),
                                                     due)
        self._submit(f"callback:{attempt_id}", job)

    async def _start_dialers(self, tg: asyncio.TaskGroup) -> list[asyncio.Task[None]]:
        p = self.parts
        assert p is not None
        deps = DialerDeps(service=p.service, pool=p.pool, writer=p.writer,
                          compliance=p.compliance, engine_id=self.engine_id,
                          lease_s=self.cfg.engine.lease, hopper_size=self.cfg.engine.hopper_size,
                          interval=self.cfg.engine.pacing_interval,
                          compliance_skew=self.hooks.compliance_skew,
                          on_block=self._blocked, telephony_up=self._telephony_up)
        tasks = []
        campaigns = await load_campaigns(p.pool, list(self.cfg.engine.campaigns),
                                         self.rules_table)
        for setup in campaigns:
            dialer = CampaignDialer(setup, deps)
            p.dialers[setup.name] = dialer
            p.sinks.dialers[setup.name] = dialer
            p.service.listeners.append(_observer_of(dialer))
            tasks.append(tg.create_task(dialer.run()))
            log.info("campaign started", campaign=setup.name, mode=setup.definition.mode)
        return tasks

    def _submit(self, key: str, job: Callable[[], Any]) -> None:
        assert self.parts is not None and self.parts.service.executor is not None
        self.parts.service.executor.tasks.submit(key, job)

    def _telephony_up(self, via: str) -> bool:
        """Calls need the takeover done, ARI (control after answer) and their
        originating interface."""
        p = self.parts
        tel = p.tel if p else None
        if tel is None or p is None or p.keeper is None or not p.keeper.recovered.is_set():
            return False
        if not tel.connected.get("ari"):
            return False
        return via == "ari" or bool(tel.connected.get("ami"))

    def _blocked(self, campaign: str, reasons: tuple[str, ...]) -> None:
        for reason in reasons:
            metrics.record_compliance_block(reason)
        self.recent.block(reasons)

    async def drain(self) -> None:
        """Stop dialing, let live calls end (up to drain_timeout), leave nothing behind."""
        assert self.parts is not None
        await drain(self.parts, self.engine_id, self.cfg.engine.drain_timeout)


def load_rules_table(path: str | None) -> RulesTable | None:
    """The operator's rules table (compliance.rules_file), or None for the packaged one."""
    if path is None:
        return None
    located = load_yaml_file(path)
    try:
        return parse_rules_table(located.data, "rules")
    except ConfigError as err:
        raise StartupError(str(located.locate(err))) from None


def _observer_of(dialer: CampaignDialer) -> Callable[[object, list[Any]], None]:
    def observe(event: object, cmds: list[Any]) -> None:
        dialer.observer.observe(cmds, dialer.clock.now())
        if cmds:
            dialer.wake.set()
    return observe
