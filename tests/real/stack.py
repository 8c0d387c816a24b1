"""The real engine (`DialerApp`, in-process) pointed at the test Asterisk: a migrated
database, a campaign dialing `Local/{number}@dialer-test-carrier`, and agents whose
softphones are baresip phones logged in through the engine."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from dialer.app import AppHooks, DialerApp
from dialer.campaigns import parse_campaign
from dialer.config import Config
from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.demo.run import demo_skew
from dialer.imports.dnc import import_dnc
from dialer.imports.leads import import_leads
from dialer.store import campaigns as campaign_store
from dialer.testing.asterisk import RealAsterisk
from tests.integration.engine_stack import leads_settled

CARRIER = "dialer-test-carrier"
CAMPAIGN = """\
name: {name}
mode: {mode}
caller_id: "+12125550100"
dial_template: "Local/{{number}}@{carrier}"
originate_via: {via}
ring_timeout: 15
brand: Test Co
amd:
  machine_action: {machine_action}
  greeting_wait: {greeting_wait}
recordings:
  machine_message: dialer/machine-message
retry:
  max_attempts: 1
pacing:
  power_ratio: {power_ratio}
"""


@dataclass(frozen=True)
class Campaign:
    name: str = "real"
    via: str = "ami"
    mode: str = "progressive"
    machine_action: str = "hangup"
    greeting_wait: float = 12.0
    power_ratio: float = 2.0

    def yaml(self) -> str:
        return CAMPAIGN.format(carrier=CARRIER, **dataclasses.asdict(self))


def engine_config(ast: RealAsterisk) -> Config:
    cfg = Config()
    return dataclasses.replace(
        cfg,
        ami=dataclasses.replace(cfg.ami, host="127.0.0.1", port=ast.ports.ami,
                                secret=ast.keys.ami, ping_interval=1.0, ping_timeout=2.0,
                                reconnect_max=1.0),
        ari=dataclasses.replace(cfg.ari, url=ast.ari_url, password=ast.keys.ari),
        agi=dataclasses.replace(cfg.agi, host="127.0.0.1", port=ast.ports.agi),
        http=dataclasses.replace(cfg.http, port=0),
        engine=dataclasses.replace(cfg.engine, drain_timeout=3.0, wrapup_max=5.0),
        compliance=dataclasses.replace(cfg.compliance, staleness=10.0))


async def until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``check`` until it holds; an AssertionError naming ``what`` after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while not check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:.0f} s: {what}") from None


@dataclass
class RealRun:
    app: DialerApp
    conn: asyncpg.Connection
    commands: list[tuple[float, c.Command]]
    campaign: str = ""  # the campaign agents log in for

    @property
    def parts(self) -> Any:
        assert self.app.parts is not None
        return self.app.parts

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def wait_leads_done(self, timeout: float = 90.0) -> None:
        await leads_settled(self.conn, self.parts, timeout)

    async def attempts(self) -> dict[int, asyncpg.Record]:
        rows = await self.conn.fetch("SELECT * FROM call_attempts")
        return {r["phone"] % 10: r for r in rows}

    def plays(self) -> list[tuple[float, c.Play]]:
        return [(t, x) for t, x in self.commands if isinstance(x, c.Play)]

    def agent_state(self, name: str) -> AgentState | None:
        agent = self.parts.service.engine.agents.get(name)
        return None if agent is None else agent.state

    async def until(self, check: Callable[[], bool], timeout: float = 20.0,
                    what: str = "") -> None:
        await until(check, timeout, what)

    async def login(self, names: Sequence[str], timeout: float = 15.0,
                    campaign: str | None = None) -> None:
        """Log agents in for ``campaign`` (default: the run's first); each serves one."""
        for name in names:
            self.parts.service.feed(e.AgentLogin(name, f"PJSIP/{name}",
                                                 campaign=campaign or self.campaign or None))
        await self.until(lambda: all(self.agent_state(n) is AgentState.READY for n in names),
                         timeout, f"agents {list(names)} ready")


async def import_numbers(conn: asyncpg.Connection, tmp: Path, campaign: str,
                         numbers: Sequence[str]) -> None:
    leads = tmp / f"{campaign}-leads-{len(list(tmp.glob('*-leads-*.csv')))}.csv"
    leads.write_text("phone,state\n" + "".join(f"{n},NY\n" for n in numbers))
    await import_leads(conn, leads, campaign=campaign, region="US", show_progress=False)


async def load_campaign(conn: asyncpg.Connection, tmp: Path, campaign: Campaign,
                        numbers: Sequence[str]) -> None:
    await campaign_store.create(conn, parse_campaign(campaign.yaml()))
    await campaign_store.set_status(conn, campaign.name, "active")
    if numbers:
        await import_numbers(conn, tmp, campaign.name, numbers)


async def load_dnc(conn: asyncpg.Connection, tmp: Path, numbers: Sequence[str]) -> None:
    """Numbers on the company's internal do-not-call list (every campaign)."""
    path = tmp / "dnc-internal.txt"
    path.write_text("".join(f"{n}\n" for n in numbers))
    await import_dnc(conn, path, name="internal", kind="internal", scope=None, region="US",
                     show_progress=False)


async def leftovers(ast: RealAsterisk, grace: float = 5.0) -> tuple[int, int]:
    """Channels and bridges Asterisk still has (ARI), once they are gone or after
    ``grace`` seconds."""
    params = {"api_key": f"dialer:{ast.keys.ari}"}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    async with aiohttp.ClientSession() as http:
        while True:
            counts = []
            for what in ("channels", "bridges"):
                async with http.get(f"{ast.ari_url}/ari/{what}", params=params) as resp:
                    counts.append(len(await resp.json()))
            if sum(counts) == 0 or loop.time() > deadline:
                return counts[0], counts[1]
            await asyncio.sleep(0.2)


async def load_leads(run: RealRun, tmp: Path, campaign: str, numbers: Sequence[str]) -> None:
    """More leads for a running campaign."""
    await import_numbers(run.conn, tmp, campaign, numbers)


def _dispose_after_wrapup(run: RealRun) -> Any:
    """Agents set a disposition as soon as they reach wrap-up (ready for the next call),
    and every command is kept with the engine time it was issued."""
    def listener(event: object, cmds: list[c.Command]) -> None:
        now = run.now()
        run.commands.extend((now, x) for x in cmds)
        for x in cmds:
            if isinstance(x, c.AgentStateChanged) and x.new == AgentState.WRAP_UP.value:
                run.parts.service.feed(e.AgentDisposition(x.agent, "done"))
    return listener


@asynccontextmanager
async def real_engine(ast: RealAsterisk, dsn: str, tmp: Path,
                      campaigns: Sequence[tuple[Campaign, Sequence[str]]],
                      agents: Sequence[str] = (), dnc: Sequence[str] = ()
                      ) -> AsyncIterator[RealRun]:
    """Campaigns loaded (but paused until the agents are ready) with ``dnc`` on the
    internal do-not-call list, the engine running. Leaving stops it as SIGTERM does."""
    conn = await asyncpg.connect(dsn)
    try:
        for campaign, numbers in campaigns:
            await load_campaign(conn, tmp, campaign, numbers)
        if dnc:
            await load_dnc(conn, tmp, dnc)
        app = DialerApp(engine_config(ast), dsn, hooks=AppHooks(compliance_skew=demo_skew()))
        run = RealRun(app, conn, [], campaigns[0][0].name if campaigns else "")
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(app.run(stop))
            try:
                async with asyncio.timeout(20):
                    await app.started.wait()
                run.parts.service.listeners.append(_dispose_after_wrapup(run))
                if agents:
                    await run.login(agents)
                yield run
            finally:
                stop.set()
                async with asyncio.timeout(30):
                    await task
    finally:
        await conn.close()
