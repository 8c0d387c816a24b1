"""`dialer bench engine --real`: one engine against a real Asterisk, the originate rate
stepped up until Asterisk saturates.

The Asterisk is either started here from the cached build (:mod:`dialer.testing`, the
same instance the real-Asterisk tier uses) or a given one (``--ami``/``--ari``, secrets
from ``DIALER_AMI_SECRET`` and ``DIALER_ARI_PASSWORD``) that runs the shipped
`asterisk-config/` and its sounds. A broadcast campaign dials the test carrier's people
(`Local/<number>@dialer-test-carrier`, last digits 0-3): each call rings, goes through
AMD, hears the broadcast message and is hung up after the opt-out wait.

Each step asks for one rate (the campaign's token bucket) and measures its second half,
once the calls in flight have settled: originates/s placed, calls in flight, the
originate-to-answer and answer-to-AMD times of the attempts placed then (read 5 s after,
the rate held meanwhile), and the CPU of the engine, Asterisk and PostgreSQL side by
side (``/proc/<pid>/stat``). A step saturates
when the placed rate falls below 90% of the asked one, or when answers come more than a
second later than the ring time (or 5% of them not within 5 s); stepping stops there.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from dialer.app import AppHooks, DialerApp
from dialer.demo.run import demo_skew
from dialer.testing.capacity_options import CapacityOptions
from dialer.testing.capacity_setup import (
    CAMPAIGN_NAME,
    Target,
    carrier_globals,
    engine_config,
    load_campaign,
    target_for,
)
from dialer.testing.procstat import CpuMeter

LATE_S = 5.0  # an answer not seen this long after the originate is late


@dataclass
class Step:
    """One asked rate and what it gave, over the step's second half."""

    asked: float
    placed_per_s: float = 0.0
    in_flight: list[int] = field(default_factory=list)
    asterisk_channels: int | None = None
    answer_s: list[float] = field(default_factory=list)
    amd_s: list[float] = field(default_factory=list)
    late: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    saturated: str = ""

    def figures(self) -> dict[str, Any]:
        def med(xs: list[float]) -> float | None:
            return round(statistics.median(xs), 3) if xs else None

        def p95(xs: list[float]) -> float | None:
            return round(sorted(xs)[int(0.95 * (len(xs) - 1))], 3) if xs else None

        return {"asked_per_s": self.asked, "originates_per_s": round(self.placed_per_s, 1),
                "in_flight_median": statistics.median(self.in_flight) if self.in_flight
                else None, "asterisk_channels": self.asterisk_channels,
                "answer_s_median": med(self.answer_s), "answer_s_p95": p95(self.answer_s),
                "amd_s_median": med(self.amd_s), "late": self.late,
                "calls": len(self.answer_s) + self.late,
                "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
                "saturated": self.saturated}


def verdict(step: Step, ring_s: float) -> str:
    """Why this step saturated Asterisk, or "" when it kept up."""
    if step.placed_per_s < 0.9 * step.asked:
        return f"placed {step.placed_per_s:.0f}/s of {step.asked:.0f}/s asked"
    answers = statistics.median(step.answer_s) if step.answer_s else float("inf")
    if answers > ring_s + 1.0:
        return f"answers {answers:.1f} s after the originate (ring {ring_s:g} s)"
    calls = len(step.answer_s) + step.late
    if calls and step.late / calls > 0.05:
        return f"{step.late} of {calls} answers later than {LATE_S:g} s"
    return ""


async def run_capacity(o: CapacityOptions, progress: Callable[[str], None] = print
                       ) -> dict[str, Any]:
    """Step the rate up as ``o`` says; ``progress`` gets one line per step."""
    from dialer.store import embedded

    server = embedded.start()
    try:
        with tempfile.TemporaryDirectory(prefix="dialer-capacity-") as tmp:
            async with target_for(o, Path(tmp)) as target, carrier_globals(target, o):
                await load_campaign(server.dsn(), Path(tmp), o)
                steps = await _measure(server.dsn(), _pg_pid(server.root), target, o,
                                       progress)
    finally:
        server.stop()
    return {"rates": list(o.rates), "step_s": o.step_s, "via": o.via, "ring_s": o.ring_s,
            "message": o.message, "asterisk": target.describe,
            "steps": [s.figures() for s in steps]}


def _pg_pid(root: Path) -> int | None:
    pidfile = root / "data" / "postmaster.pid"
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _meter(target: Target, pg_pid: int | None) -> CpuMeter:
    pids: dict[str, tuple[int, bool]] = {"engine": (os.getpid(), False)}
    if target.pid is not None:
        pids["asterisk"] = (target.pid, False)
    if pg_pid is not None:
        pids["postgres"] = (pg_pid, True)
    return CpuMeter(pids)


async def _measure(dsn: str, pg_pid: int | None, target: Target, o: CapacityOptions,
                   progress: Callable[[str], None]) -> list[Step]:
    app = DialerApp(engine_config(target), dsn, hooks=AppHooks(compliance_skew=demo_skew()))
    steps: list[Step] = []
    stop = asyncio.Event()
    async with _running(app, stop), _connected(dsn) as conn:
        meter = _meter(target, pg_pid)
        for rate in o.rates:
            step = await _step(app, conn, meter, target, rate, o)
            steps.append(step)
            progress(_progress(step))
            if step.saturated:
                break
    return steps


@asynccontextmanager
async def _running(app: DialerApp, stop: asyncio.Event) -> AsyncIterator[None]:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(app.run(stop))
        try:
            async with asyncio.timeout(30):
                await app.started.wait()
            yield
        finally:
            stop.set()


@asynccontextmanager
async def _connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


def _placed(app: DialerApp) -> int:
    assert app.parts is not None
    return sum(d.stats.placed for d in app.parts.dialers.values())


def _in_flight(app: DialerApp) -> int:
    assert app.parts is not None
    return len(app.parts.service.engine.calls)


async def _step(app: DialerApp, conn: asyncpg.Connection, meter: CpuMeter, target: Target,
                rate: float, o: CapacityOptions) -> Step:
    assert app.parts is not None
    app.parts.dialers[CAMPAIGN_NAME].bucket.rate = rate
    loop, step = asyncio.get_running_loop(), Step(rate)
    await asyncio.sleep(o.step_s / 2)
    began, wall0, placed0 = loop.time(), time.time(), _placed(app)
    meter.start(began)
    while loop.time() < began + o.step_s / 2:
        step.in_flight.append(_in_flight(app))
        await asyncio.sleep(1.0)
    step.cpu = meter.shares(loop.time())
    step.placed_per_s = (_placed(app) - placed0) / (loop.time() - began)
    step.asterisk_channels = await target.channel_count()
    wall1 = time.time()
    await asyncio.sleep(LATE_S)  # the same rate on, while the last calls get answered
    await _timings(app, conn, step, wall0, wall1)
    step.saturated = verdict(step, o.ring_s)
    return step


async def _timings(app: DialerApp, conn: asyncpg.Connection, step: Step, since: float,
                   until: float) -> None:
    """Originate-to-answer and answer-to-AMD of the attempts placed in [since, until)."""
    assert app.parts is not None
    await app.parts.writer.flush(timeout=30)
    rows = await conn.fetch(
        "SELECT extract(epoch FROM answered_at - originated_at) AS answer, "
        "extract(epoch FROM amd_at - answered_at) AS amd FROM call_attempts "
        "WHERE originated_at >= to_timestamp($1) AND originated_at < to_timestamp($2)",
        since, until)
    step.answer_s = [float(r["answer"]) for r in rows if r["answer"] is not None]
    step.amd_s = [float(r["amd"]) for r in rows if r["amd"] is not None]
    step.late = sum(1 for r in rows if r["answer"] is None or r["answer"] > LATE_S)
    step.answer_s = [a for a in step.answer_s if a <= LATE_S]


def _progress(step: Step) -> str:
    f = step.figures()
    cpu = ", ".join(f"{k} {v:.0%}" for k, v in f["cpu"].items())
    return (f"  asked {f['asked_per_s']:g}/s: placed {f['originates_per_s']}/s, in flight "
            f"{f['in_flight_median']}, answer {f['answer_s_median']} s, AMD "
            f"{f['amd_s_median']} s; CPU {cpu}" + (f"; SATURATED: {step.saturated}"
                                                   if step.saturated else ""))


def print_capacity(fig: dict[str, Any]) -> None:
    """The steps as a table, then the last rate Asterisk kept up with."""
    print(f"engine bench against a real Asterisk ({fig['asterisk']}): broadcast over "
          f"{fig['via']} to the test carrier (ring {fig['ring_s']:g} s, AMD, "
          f"{fig['message']}), {fig['step_s']:g} s per step, second half measured")
    print("  asked/s  placed/s  in flight  channels  answer s p50/p95  AMD s  late  "
          "CPU engine  asterisk  postgres  machine")
    for s in fig["steps"]:
        cpu = s["cpu"]
        print(f"  {s['asked_per_s']:>7g}  {s['originates_per_s']:>8}  "
              f"{s['in_flight_median'] or 0:>9.0f}  {s['asterisk_channels'] or 0:>8}  "
              f"{s['answer_s_median']}/{s['answer_s_p95']:<10}  {s['amd_s_median']}  "
              f"{s['late']:>4}  {_pct(cpu, 'engine'):>10}  {_pct(cpu, 'asterisk'):>8}  "
              f"{_pct(cpu, 'postgres'):>8}  {_pct(cpu, 'machine'):>7}")
    kept = [s for s in fig["steps"] if not s["saturated"]]
    last = fig["steps"][-1] if fig["steps"] else None
    if kept:
        best = kept[-1]
        print(f"  kept up to {best['originates_per_s']} originates/s with "
              f"{best['in_flight_median']:.0f} calls in flight")
    if last is not None and last["saturated"]:
        print(f"  saturated at {last['asked_per_s']:g}/s asked: {last['saturated']}")


def _pct(cpu: dict[str, float], name: str) -> str:
    return f"{cpu[name]:.0%}" if name in cpu else "n/a"
