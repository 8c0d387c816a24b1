"""A whole engine for tests: a migrated database, a campaign with leads, the simulated
Asterisk on free ports, the real DialerApp, and simulated agents logged in."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from dialer.app import AppHooks, DialerApp
from dialer.campaigns import parse_campaign
from dialer.config import ApiConfig, ApiToken, Config
from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.demo.run import demo_skew, sim_config
from dialer.imports.dnc import import_dnc
from dialer.imports.leads import import_leads
from dialer.sim.model import DigitModel
from dialer.sim.server import SimAsterisk
from dialer.store import campaigns as campaign_store

CAMPAIGN = """\
name: {name}
mode: {mode}
caller_id: "+12125550100"
dial_template: "Local/{{number}}@carrier-sim"
originate_via: {via}
ring_timeout: 20
brand: Test Co
amd:
  machine_action: {machine_action}
  report: {report}
recordings:
  machine_message: dialer/machine-message
  broadcast: dialer/broadcast
retry:
  max_attempts: 1
"""


async def leads_settled(conn: asyncpg.Connection, parts: Any, timeout: float) -> None:
    """Until every lead is done, blocked or waiting for a later retry, no call is up,
    and the attempts are written."""
    async with asyncio.timeout(timeout):
        while await conn.fetchval(
                "SELECT count(*) FROM leads WHERE status NOT IN ('done', 'blocked') "
                "AND NOT (status = 'retry' AND next_attempt_at > now())") > 0 \
                or parts.service.engine.calls:
            await asyncio.sleep(0.1)
    await parts.writer.flush(timeout=10)

@dataclass
class Running:
    app: DialerApp
    sim: SimAsterisk
    dsn: str
    conn: asyncpg.Connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app.http_port}"

    @property
    def parts(self) -> Any:
        assert self.app.parts is not None
        return self.app.parts

    async def wait_leads_done(self, timeout: float = 60.0) -> None:
        await leads_settled(self.conn, self.parts, timeout)

    async def outcomes(self) -> dict[int, str]:
        rows = await self.conn.fetch("SELECT phone, outcome FROM call_attempts")
        return {r["phone"]: r["outcome"] for r in rows}


async def load(conn: asyncpg.Connection, tmp: Path, numbers: list[str], *, name: str,
               mode: str, via: str, machine_action: str, dnc: list[str],
               report: str = "stasis", extra: str = "") -> None:
    text = CAMPAIGN.format(name=name, mode=mode, via=via, machine_action=machine_action,
                           report=report) + extra
    await campaign_store.create(conn, parse_campaign(text))
    await campaign_store.set_status(conn, name, "active")
    (tmp / "leads.csv").write_text("phone,state\n" + "".join(f"{n},NY\n" for n in numbers))
    await import_leads(conn, tmp / "leads.csv", campaign=name, region="US",
                       show_progress=False)
    if dnc:
        (tmp / "dnc.txt").write_text("".join(f"{n}\n" for n in dnc))
        await import_dnc(conn, tmp / "dnc.txt", name="internal", kind="internal", scope=None,
                         region="US", show_progress=False)


SUPERVISOR_TOKEN = "supervisor-token-for-tests"
AGENT_TOKENS = {f"agent{i}": f"agent{i}-token-for-tests" for i in range(1, 5)}


def _tokens() -> list[ApiToken]:
    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()
    agents = [ApiToken(role="agent", sha256=sha(t), agent=a) for a, t in AGENT_TOKENS.items()]
    return [ApiToken(role="supervisor", sha256=sha(SUPERVISOR_TOKEN)), *agents]


def config_for(sim: SimAsterisk) -> Config:
    cfg = sim_config(sim.ami_port, sim.ari_port, drain_timeout=5.0, wrapup_max=5.0)
    return dataclasses.replace(
        cfg, api=ApiConfig(tokens=_tokens()),
        ami=dataclasses.replace(cfg.ami, ping_interval=1.0, ping_timeout=1.0,
                                reconnect_max=1.0),
        compliance=dataclasses.replace(cfg.compliance, staleness=5.0))


async def login(app: DialerApp, agents: int) -> None:
    assert app.parts is not None
    names = [f"agent{i}" for i in range(1, agents + 1)]
    for name in names:
        app.parts.service.feed(e.AgentLogin(name, f"PJSIP/{name}", campaign="test"))
    async with asyncio.timeout(10):
        while any(app.parts.service.engine.agents.get(n) is None or
                  app.parts.service.engine.agents[n].state is not AgentState.READY
                  for n in names):
            await asyncio.sleep(0.02)


@asynccontextmanager
async def engine_stack(dsn: str, tmp: Path, numbers: list[str], *, agents: int = 2,
                       via: str = "ami", mode: str = "progressive", speed: float = 20.0,
                       machine_action: str = "hangup", dnc: list[str] | None = None,
                       seed: int = 3, app_dsn: str | None = None,
                       auto_wrapup: bool = True, report: str = "stasis",
                       optout_digits: str = "", extra: str = "") -> AsyncIterator[Running]:
    conn = await asyncpg.connect(dsn)
    await load(conn, tmp, numbers, name="test", mode=mode, via=via,
               machine_action=machine_action, dnc=dnc or [], report=report, extra=extra)
    hold: dict[str, DialerApp] = {}

    async def wrapped_up(agent: str, info: dict[str, Any]) -> None:
        if auto_wrapup and "app" in hold and hold["app"].parts is not None:
            hold["app"].parts.service.feed(e.AgentDisposition(agent, "done"))

    model = DigitModel(seed, optout_digits=optout_digits)
    sim = SimAsterisk(seed=seed, speed=speed, model=model, on_wrapup_done=wrapped_up)
    try:
        async with sim.running() as running:
            app = DialerApp(config_for(running), app_dsn or dsn,
                            hooks=AppHooks(compliance_skew=demo_skew()))
            hold["app"] = app
            stop = asyncio.Event()
            task = asyncio.create_task(app.run(stop))
            try:
                async with asyncio.timeout(15):
                    await app.started.wait()
                running.agi_url = f"agi://127.0.0.1:{app.agi_port}/amd"
                await login(app, agents) if agents else None
                yield Running(app, running, dsn, conn)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
    finally:
        await conn.close()
