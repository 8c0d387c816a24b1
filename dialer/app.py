"""The composition root: builds every part from the config, runs them, and drains
on stop (SIGTERM): no new calls, live calls finish up to a deadline, leases go back.

Everything the engine runs is a task of one TaskGroup, so an error anywhere surfaces.
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

import asyncpg
import structlog

from dialer.adapters.agi.server import FastAgiServer
from dialer.adapters.ami.types import AmiConfig as AmiClientConfig
from dialer.adapters.ari.client import AriConfig as AriClientConfig
from dialer.adapters.executor import Clock, Executor
from dialer.api.app import create_app, serving
from dialer.api.auth import TokenAuth
from dialer.campaigns import campaign_from_mapping
from dialer.config import Config
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
from dialer.runtime.occupancy import Occupancy
from dialer.runtime.recent import Recent
from dialer.runtime.service import EngineService
from dialer.runtime.sinks import MetricsFeed, Sinks
from dialer.schema import load_yaml_file
from dialer.store import agents as store_agents
from dialer.store import campaigns as campaign_store
from dialer.store import hopper
from dialer.store.attempts import AttemptWriter, lead_of
from dialer.store.compliance import ComplianceFilter
from dialer.store.db import create_pool
from dialer.store.migrate import discover, schema_version

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


def default_engine_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def check_schema(pool: asyncpg.Pool) -> None:
    latest = max(m.version for m in discover())
    have = await schema_version(pool)
    if have < latest:
        raise StartupError(f"the database schema is at version {have}, the engine needs "
                           f"{latest}: run `dialer db migrate`")


async def load_campaigns(pool: asyncpg.Pool, names: list[str],
                         table: RulesTable | None = None) -> list[CampaignSetup]:
    setups = []
    for row in await campaign_store.runnable(pool, names):
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
        self.engine_id = cfg.engine.engine_id or default_engine_id()
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

    async def _run_with(self, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        compliance = ComplianceFilter(staleness=self.cfg.compliance.staleness,
                                      reload_interval=self.cfg.compliance.reload_interval)
        await compliance.start(pool)
        writer = AttemptWriter(pool, max_buffer=self.cfg.database.write_buffer,
                               on_write=lambda s: metrics.observe_db_write("attempt", s))
        writer.start()
        loop = asyncio.get_running_loop()
        service = EngineService(Engine(wrapup_max=self.cfg.engine.wrapup_max), Clock(loop))
        records = AgentRecords(pool, lambda a: service.engine.agents[a].endpoint,
                               lambda key, job: self._submit(key, job))
        self.parts = Parts(pool, compliance, writer, service,
                           Sinks(writer, compliance, records.agent_id),
                           Occupancy(service.clock.now), records)
        self.recent = Recent(service.clock.now)
        service.listeners += [self.parts.occupancy, records, self.recent.listener]
        await store_agents.close_all_sessions(pool, "engine restart")
        await hopper.sweep_expired_leases(pool, service.clock.wall())
        try:
            async with asyncio.TaskGroup() as tg:
                await self._serve(tg, stop)
        finally:
            await writer.stop(timeout=10)
            await compliance.stop()

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
                                     ari=self._ari_config(),
                                     on_state=metrics.set_connected) as tel:
            p.tel = tel
            p.service.executor = Executor(ami=tel.ami, ari=tel.ari, app=self.cfg.ari.app,
                                          clock=p.service.clock, feed=p.service.feed,
                                          attempts=p.sinks, ledgers=p.sinks)
            tasks = [tg.create_task(p.service.run()), tg.create_task(gauges.run(p)),
                     tg.create_task(LoopLagSampler().run())]
            tasks += await self._start_dialers(tg)
            self.metrics_feed = MetricsFeed(p.service.clock.now, keep_samples=self.hooks.samples)
            p.service.listeners.append(self.metrics_feed)
            agi = FastAgiServer(AgiHooks(p.service.feed).handlers(), host=self.cfg.agi.host,
                                port=self.cfg.agi.port, max_sessions=self.cfg.agi.max_sessions)
            async with agi, serving(create_app(EngineControl(self), self._auth()),
                                    self.cfg.http.host, self.cfg.http.port) as port:
                self.http_port, self.agi_port = port, agi.port
                self.started.set()
                log.info("engine started", http_port=port, campaigns=len(p.dialers))
                if self.hooks.on_started is not None:
                    tasks.append(tg.create_task(self.hooks.on_started(self)))
                await stop.wait()
                await self.drain()
            for task in tasks:
                task.cancel()

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
        """Calls need ARI (control after answer) and their originating interface."""
        tel = self.parts.tel if self.parts else None
        if tel is None or not tel.connected.get("ari"):
            return False
        return via == "ari" or bool(tel.connected.get("ami"))

    def _blocked(self, campaign: str, reasons: tuple[str, ...]) -> None:
        for reason in reasons:
            metrics.record_compliance_block(reason)
        self.recent.block(reasons)

    async def drain(self) -> None:
        """Stop dialing, let live calls end (up to drain_timeout), give leases back."""
        p = self.parts
        assert p is not None
        for dialer in p.dialers.values():
            dialer.dialing_enabled = False
        deadline = p.service.clock.now() + self.cfg.engine.drain_timeout
        while p.service.engine.calls and p.service.clock.now() < deadline:
            await asyncio.sleep(0.05)
        for dialer in p.dialers.values():
            leads = [lead.lead_id for lead in dialer.hopper]
            dialer.hopper.clear()
            await hopper.release_leads(p.pool, leads, self.engine_id)
        if p.service.executor is not None:
            await p.service.executor.tasks.drain(timeout=5)
            p.service.executor.timers.cancel_all()
        log.info("drained", calls_left=len(p.service.engine.calls))


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
        now = dialer.clock.now()
        dialer.observer.observe(cmds, now, dialer.clock.wall().date().isoformat())
        if cmds:
            dialer.wake.set()
    return observe
