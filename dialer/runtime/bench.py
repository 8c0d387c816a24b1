"""`dialer bench engine`: one engine process against the simulated Asterisk (in its
own process), with a real embedded PostgreSQL.

Two campaigns run at once: an agentless broadcast campaign that keeps many calls up
(concurrency and originates per second), and a predictive campaign with simulated
agents (answer-to-bridge latency). Printed: sustained concurrent calls, originates/s,
answer-to-bridge p50/p99, event-loop lag p99, and engine CPU per call.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from dialer.app import AppHooks, DialerApp
from dialer.campaigns import parse_campaign
from dialer.config import Config
from dialer.core import events as e
from dialer.demo.run import demo_skew, sim_config
from dialer.imports.leads import import_leads
from dialer.store import campaigns as campaign_store

CAMPAIGN = """\
name: {name}
mode: {mode}
caller_id: "+12125550100"
dial_template: "Local/{{number}}@carrier-sim"
ring_timeout: 20
recordings:
  broadcast: dialer/broadcast
pacing:
  broadcast_lines: {lines}
  max_cps: {cps}
retry:
  max_attempts: 1
"""


@dataclass(frozen=True)
class BenchOptions:
    seconds: float = 60.0
    warmup: float = 20.0
    lines: int = 1200
    cps: float = 150.0
    agents: int = 50
    seed: int = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _load(conn: asyncpg.Connection, tmp: Path, o: BenchOptions) -> None:
    leads = int(o.cps * (o.seconds + o.warmup) * 1.3) + 2000
    for name, mode, count, area in (("bench-broadcast", "broadcast", leads, 212),
                                    ("bench-agents", "predictive", 20_000, 313)):
        text = CAMPAIGN.format(name=name, mode=mode, lines=o.lines, cps=o.cps)
        await campaign_store.create(conn, parse_campaign(text))
        await campaign_store.set_status(conn, name, "active")
        path = tmp / f"{name}.csv"
        path.write_text("phone\n" + "".join(f"{area}{200 + i // 10000}{i % 10000:04d}\n"
                                            for i in range(count)))
        await import_leads(conn, path, campaign=name, region="US", show_progress=False)


async def _sim(ami: int, ari: int, seed: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "sim", "--ami", f"127.0.0.1:{ami}",
        "--ari", f"127.0.0.1:{ari}", "--agi", f"127.0.0.1:{free_port()}",
        "--seed", str(seed), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


def _config(ami: int, ari: int) -> Config:
    return sim_config(ami, ari, wrapup_max=3.0, hopper_size=2000, drain_timeout=5.0)


class Sampler:
    """Loop lag and concurrency, sampled while the engine runs."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.concurrency: list[int] = []
        self.placed: list[tuple[float, int]] = []

    async def run(self, app: DialerApp, interval: float = 0.05) -> None:
        loop = asyncio.get_running_loop()
        tick = 0
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            self.lags.append(max(0.0, loop.time() - start - interval))
            tick += 1
            if tick % 10 == 0 and app.parts is not None:
                self.concurrency.append(len(app.parts.service.engine.calls))
                placed = sum(d.stats.placed for d in app.parts.dialers.values())
                self.placed.append((loop.time(), placed))


async def run_bench(o: BenchOptions) -> dict[str, Any]:
    from dialer.obs.logging import configure_logging
    from dialer.store import embedded
    from dialer.store.migrate import migrate

    configure_logging("console", "error")
    server = embedded.start()
    try:
        conn = await asyncpg.connect(server.dsn())
        await migrate(conn)
        with tempfile.TemporaryDirectory(prefix="dialer-bench-") as tmp:
            await _load(conn, Path(tmp), o)
        await conn.close()
        return await _measure(server.dsn(), o)
    finally:
        server.stop()


async def _login(app: DialerApp, agents: int) -> None:
    assert app.parts is not None
    for i in range(1, agents + 1):
        app.parts.service.feed(e.AgentLogin(f"agent{i}", f"PJSIP/agent{i}",
                                               campaign="bench-agents"))


async def _measure(dsn: str, o: BenchOptions) -> dict[str, Any]:
    ami, ari = free_port(), free_port()
    sim = await _sim(ami, ari, o.seed)
    await asyncio.sleep(1.5)
    app = DialerApp(_config(ami, ari), dsn, hooks=AppHooks(
        compliance_skew=demo_skew(), on_started=lambda a: _login(a, o.agents), samples=True))
    stop = asyncio.Event()
    sampler = Sampler()
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(app.run(stop))
            await app.started.wait()
            await asyncio.sleep(o.warmup)
            sampling = tg.create_task(sampler.run(app))
            cpu0, ended0 = _cpu(), _ended(app)
            await asyncio.sleep(o.seconds)
            cpu1, ended1 = _cpu(), _ended(app)
            sampling.cancel()
            stop.set()
    finally:
        sim.terminate()
        await sim.wait()
    return _figures(o, app, sampler, cpu1 - cpu0, ended1 - ended0)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ended(app: DialerApp) -> int:
    assert app.parts is not None
    return sum(app.parts.service.engine.stats.ended.values())


def _figures(o: BenchOptions, app: DialerApp, s: Sampler, cpu: float, ended: int
             ) -> dict[str, Any]:
    (t0, p0), (t1, p1) = s.placed[0], s.placed[-1]
    bridge = app.metrics_feed.bridge_samples
    return {
        "seconds": o.seconds, "lines": o.lines, "cps_limit": o.cps, "agents": o.agents,
        "concurrent_calls_median": statistics.median(s.concurrency),
        "concurrent_calls_max": max(s.concurrency),
        "originates_per_s": round((p1 - p0) / (t1 - t0), 1),
        "calls_ended": ended,
        "answer_to_bridge_ms_p50": round(percentile(bridge, 0.5) * 1000, 2),
        "answer_to_bridge_ms_p99": round(percentile(bridge, 0.99) * 1000, 2),
        "bridged_calls": len(bridge),
        "loop_lag_ms_p99": round(percentile(s.lags, 0.99) * 1000, 2),
        "loop_lag_ms_max": round(max(s.lags) * 1000, 2),
        "engine_cpu_ms_per_call": round(cpu * 1000 / ended, 3) if ended else None,
        "engine_cpu_share": round(cpu / o.seconds, 3),
    }


def print_figures(fig: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(fig))
        return
    print(f"engine bench: {fig['seconds']:.0f} s measured after warm-up; "
          f"{fig['agents']} agents, broadcast lines {fig['lines']}, "
          f"limit {fig['cps_limit']:.0f} calls/s")
    print(f"  concurrent calls  median {fig['concurrent_calls_median']:.0f}, "
          f"max {fig['concurrent_calls_max']}   (target >= 1000)")
    print(f"  originates/s      {fig['originates_per_s']}   (target >= 100)")
    print(f"  answer-to-bridge  p50 {fig['answer_to_bridge_ms_p50']} ms, "
          f"p99 {fig['answer_to_bridge_ms_p99']} ms over {fig['bridged_calls']} bridges "
          "(target p99 <= 50 ms)")
    print(f"  event-loop lag    p99 {fig['loop_lag_ms_p99']} ms, max {fig['loop_lag_ms_max']} ms"
          "   (target p99 <= 20 ms)")
    print(f"  engine CPU        {fig['engine_cpu_ms_per_call']} ms per call "
          f"({fig['engine_cpu_share']:.0%} of one core)")
