"""What the real-Asterisk capacity bench (:mod:`dialer.testing.capacity`) drives: the
Asterisk (started from the cached build, or a given one), the carrier's settings on it,
the engine's configuration and the broadcast campaign with its leads."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from dialer.campaigns import parse_campaign
from dialer.config import Config
from dialer.imports.leads import import_leads
from dialer.schema import Seconds
from dialer.store import campaigns as campaign_store
from dialer.testing.asterisk import RealAsterisk
from dialer.testing.build import BUILD_SCRIPT, SOUND_TOOLS, find_build, missing_tools
from dialer.testing.capacity_options import CapacityError, CapacityOptions
from dialer.testing.ports import free_port
from dialer.testing.sounds import sound_files

CAMPAIGN_NAME = "bench-real"
CAMPAIGN = """\
name: {name}
mode: broadcast
caller_id: "+12125550100"
dial_template: "Local/{{number}}@dialer-test-carrier"
originate_via: {via}
ring_timeout: 20
recordings:
  broadcast: {message}
pacing:
  broadcast_lines: 10000
  max_cps: {cps}
retry:
  max_attempts: 1
"""
SECRET_ENV = ("DIALER_AMI_SECRET", "DIALER_ARI_PASSWORD")


@dataclass
class Target:
    """One Asterisk: where its AMI and ARI are, its secrets, and its PID if known."""

    ami_host: str
    ami_port: int
    ami_secret: str
    ari_url: str
    ari_password: str
    agi_port: int
    pid: int | None
    describe: str
    username: str = "dialer"

    async def ari(self, method: str, path: str, **params: str) -> object:
        """One ARI request; its JSON (None when empty). Errors name the URL."""
        url = f"{self.ari_url}/ari{path}"
        query = {**params, "api_key": f"{self.username}:{self.ari_password}"}
        async with aiohttp.ClientSession() as http, http.request(method, url,
                                                                 params=query) as resp:
            if resp.status >= 300:
                raise CapacityError(f"ARI {method} {url}: {resp.status} {await resp.text()}")
            return await resp.json() if resp.status != 204 else None

    async def channel_count(self) -> int:
        channels = await self.ari("GET", "/channels")
        return len(channels) if isinstance(channels, list) else 0


@asynccontextmanager
async def target_for(o: CapacityOptions, tmp: Path) -> AsyncIterator[Target]:
    """The given Asterisk, or one started from the cached build for the bench's time."""
    if o.ami is not None:
        yield given_target(o)
        return
    build, why = find_build()
    tools = missing_tools(SOUND_TOOLS)
    if build is None or tools:
        steps = [f"{why}: run {BUILD_SCRIPT}"] if build is None else []
        steps += [f"apt-get install {' '.join(tools)}"] if tools else []
        raise CapacityError("cannot start an Asterisk for the bench: " + "; ".join(steps))
    sounds = await asyncio.to_thread(sound_files, build.cache_root)
    ast = RealAsterisk(build, tmp / "asterisk", sounds)
    await asyncio.to_thread(ast.start)
    try:
        assert ast.proc is not None
        yield Target("127.0.0.1", ast.ports.ami, ast.keys.ami, ast.ari_url, ast.keys.ari,
                     ast.ports.agi, ast.proc.pid, f"started here from {build.prefix}")
    finally:
        await asyncio.to_thread(ast.stop)


def given_target(o: CapacityOptions) -> Target:
    missing = [name for name in SECRET_ENV if not os.environ.get(name)]
    if missing or not o.ari:
        need = [*missing, *([] if o.ari else ["--ari URL"])]
        raise CapacityError(f"a given Asterisk (--ami {o.ami}) needs {', '.join(need)}")
    assert o.ami is not None
    host, _, port = o.ami.rpartition(":")
    if not host or not port.isdigit():
        raise CapacityError(f"--ami wants HOST:PORT, got {o.ami!r}")
    return Target(host, int(port), os.environ[SECRET_ENV[0]], o.ari.rstrip("/"),
                  os.environ[SECRET_ENV[1]], free_port(), o.asterisk_pid,
                  f"given: AMI {o.ami}, ARI {o.ari}")


@asynccontextmanager
async def carrier_globals(target: Target, o: CapacityOptions) -> AsyncIterator[None]:
    """The carrier's SIM_RING and SIM_TALK set as globals, put back afterwards."""
    wanted = {"SIM_RING": f"{o.ring_s:g}", "SIM_TALK": f"{o.talk_s:g}"}
    before = {name: await _global(target, name) for name in wanted}
    await _set_globals(target, wanted)
    try:
        yield
    finally:
        await _set_globals(target, before)


async def _global(target: Target, name: str) -> str:
    value = await target.ari("GET", "/asterisk/variable", variable=name)
    return str(value.get("value", "")) if isinstance(value, dict) else ""


async def _set_globals(target: Target, values: dict[str, str]) -> None:
    for name, value in values.items():
        await target.ari("POST", "/asterisk/variable", variable=name, value=value)


def engine_config(target: Target) -> Config:
    cfg = Config()
    return dataclasses.replace(
        cfg,
        ami=dataclasses.replace(cfg.ami, host=target.ami_host, port=target.ami_port,
                                secret=target.ami_secret),
        ari=dataclasses.replace(cfg.ari, url=target.ari_url, password=target.ari_password),
        agi=dataclasses.replace(cfg.agi, host="127.0.0.1", port=target.agi_port),
        http=dataclasses.replace(cfg.http, port=0),
        engine=dataclasses.replace(cfg.engine, hopper_size=3000, drain_timeout=Seconds(2.0)))


def lead_numbers(count: int) -> list[str]:
    """Distinct New York numbers whose last digit is 0-3: the test carrier's people."""
    return [f"212{200 + i // 4000}{(i // 4) % 1000 * 10 + i % 4:04d}" for i in range(count)]


async def load_campaign(dsn: str, tmp: Path, o: CapacityOptions) -> None:
    leads = int(sum(o.rates) * o.step_s * 1.2) + 1000
    text = CAMPAIGN.format(name=CAMPAIGN_NAME, via=o.via, message=o.message,
                           cps=o.rates[0] if o.rates else 1.0)
    await _with_conn(dsn, lambda conn: _load(conn, tmp, text, leads))


async def _load(conn: asyncpg.Connection, tmp: Path, text: str, count: int) -> None:
    from dialer.store.migrate import migrate

    await migrate(conn)
    await campaign_store.create(conn, parse_campaign(text))
    await campaign_store.set_status(conn, CAMPAIGN_NAME, "active")
    path = tmp / "leads.csv"
    path.write_text("phone\n" + "".join(f"{n}\n" for n in lead_numbers(count)))
    await import_leads(conn, path, campaign=CAMPAIGN_NAME, region="US", show_progress=False)


async def _with_conn(dsn: str, fn: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await fn(conn)
    finally:
        await conn.close()
