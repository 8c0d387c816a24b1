"""`dialer demo`: embedded PostgreSQL, the simulated Asterisk with simulated agents,
and the real engine, for about a minute; live progress, then a report.

The demo's compliance clock is set to 20:30 in New York today, so that whatever the
hour the demo runs at, most leads are inside their calling hours and Florida's
(08:00-20:00) are not. Everything else, including the do-not-call lists, is real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from dialer.app import AppHooks, DialerApp
from dialer.config import Config
from dialer.core import events as e
from dialer.demo.data import load_demo
from dialer.demo.report import print_report
from dialer.sim.server import SimAsterisk

DEMO_LOCAL = ("America/New_York", 20, 30)
SIM_SECRET = "dialer-secret"  # the simulator's default AMI and ARI secret


@dataclass(frozen=True)
class DemoOptions:
    seconds: float = 60.0
    speed: float = 8.0
    agents: int = 6
    leads: int = 300
    seed: int = 1


def demo_skew(now: datetime | None = None) -> timedelta:
    """Offset from real time to 20:30 in New York today."""
    now = now or datetime.now(UTC)
    zone, hour, minute = DEMO_LOCAL
    local = now.astimezone(ZoneInfo(zone))
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return target - local


def sim_config(ami_port: int, ari_port: int, **engine: float) -> Config:
    """Defaults pointed at a simulated Asterisk on loopback; HTTP and FastAGI on free
    ports; ``engine`` overrides engine settings (drain_timeout, wrapup_max...)."""
    cfg = Config()
    return dataclasses.replace(
        cfg,
        ami=dataclasses.replace(cfg.ami, port=ami_port, secret=SIM_SECRET),
        ari=dataclasses.replace(cfg.ari, url=f"http://127.0.0.1:{ari_port}",
                                password=SIM_SECRET),
        engine=dataclasses.replace(cfg.engine, **engine),
        agi=dataclasses.replace(cfg.agi, port=0),
        http=dataclasses.replace(cfg.http, port=0))


def demo_config(sim: SimAsterisk) -> Config:
    return sim_config(sim.ami_port, sim.ari_port, drain_timeout=10.0, wrapup_max=30.0)


class Agents:
    """Simulated agents: log in through the engine, and after each call's wrap-up
    (the simulator's hook) set a disposition, which makes them ready again."""

    def __init__(self, count: int) -> None:
        self.names = [f"agent{i}" for i in range(1, count + 1)]
        self.app: DialerApp | None = None

    async def login(self, app: DialerApp) -> None:
        self.app = app
        assert app.parts is not None
        for name in self.names:
            app.parts.service.feed(e.AgentLogin(name, f"PJSIP/{name}", campaign="demo"))

    async def wrapped_up(self, agent: str, info: dict[str, Any]) -> None:
        if self.app is not None and self.app.parts is not None:
            self.app.parts.service.feed(e.AgentDisposition(agent, "demo"))


async def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> int:
    from dialer.obs.logging import configure_logging
    from dialer.store import embedded
    from dialer.store.migrate import migrate

    configure_logging("console", "warning")
    started = time.monotonic()
    print("dialer demo: embedded PostgreSQL, simulated Asterisk and agents, the real engine",
          file=out)
    server = embedded.start()
    try:
        import asyncpg

        conn = await asyncpg.connect(server.dsn())
        try:
            await migrate(conn)
            with tempfile.TemporaryDirectory(prefix="dialer-demo-") as tmp:
                await load_demo(conn, Path(tmp), options.leads)
        finally:
            await conn.close()
        print(f"database ready in {time.monotonic() - started:.1f} s "
              f"({options.leads} leads, DNC lists loaded)", file=out)
        return await _with_sim(server.dsn(), options, out, started)
    finally:
        server.stop()


async def _with_sim(dsn: str, options: DemoOptions, out: TextIO, started: float) -> int:
    agents = Agents(options.agents)
    sim = SimAsterisk(seed=options.seed, speed=options.speed, on_wrapup_done=agents.wrapped_up)
    async with sim.running():
        app = DialerApp(demo_config(sim), dsn,
                        hooks=AppHooks(compliance_skew=demo_skew(), on_started=agents.login))
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(app.run(stop))
            await _progress(app, options, out, started)
            stop.set()
        await print_report(dsn, app, out, time.monotonic() - started)
    return 0


async def _progress(app: DialerApp, options: DemoOptions, out: TextIO, started: float) -> None:
    await app.started.wait()
    first_call: float | None = None
    end = time.monotonic() + options.seconds
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        p = app.parts
        assert p is not None
        placed = sum(d.stats.placed for d in p.dialers.values())
        if first_call is None and placed:
            first_call = time.monotonic() - started
            print(f"first call placed {first_call:.1f} s after start", file=out)
        print(_line(app, placed, end - time.monotonic()), file=out, flush=True)


def _line(app: DialerApp, placed: int, left: float) -> str:
    p = app.parts
    assert p is not None
    engine = p.service.engine
    agents = engine.agents_by_state()
    ended = engine.stats.ended
    blocked = sum(sum(d.stats.blocked.values()) for d in p.dialers.values())
    abandon = engine.stats.abandoned / engine.stats.live_answers \
        if engine.stats.live_answers else 0.0
    return (f"[{left:4.0f}s left] placed {placed:4d}  in flight {len(engine.calls):3d}  "
            f"ended {sum(ended.values()):4d}  blocked {blocked:3d}  "
            f"agents ready {agents['ready']} talking {agents['talking']} "
            f"wrap-up {agents['wrap_up']}  abandon {abandon:5.1%}")
