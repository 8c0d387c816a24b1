"""The chaos run: a campaign on real processes, N faults at random moments from a seed,
then every invariant checked (see :mod:`dialer.chaos.checks`).

The faults come in rounds that hold every kind once, in a shuffled order, so that a
short run still tries each kind. Between faults the campaign runs for a random while.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from dialer.campaigns import parse_campaign
from dialer.chaos import checks
from dialer.chaos.faults import FAULTS, Outcome
from dialer.chaos.world import CAMPAIGN, World
from dialer.imports.leads import import_leads
from dialer.sim.record_reader import load_record
from dialer.store import campaigns as campaign_store
from dialer.store.migrate import migrate

FAULT_TIMEOUT = 150.0
CAMPAIGN_YAML = """\
name: chaos
mode: predictive
caller_id: "+12125550100"
dial_template: "Local/{{number}}@carrier-sim"
originate_via: {via}
ring_timeout: 20
brand: Chaos Co
amd: {{machine_action: hangup}}
retry: {{max_attempts: 1}}
pacing: {{max_cps: 20}}
"""


@dataclass
class ChaosOptions:
    faults: int = 200
    seed: int = 1
    out: Path | None = None
    leads: int = 20_000
    agents: int = 8
    speed: float = 10.0
    gap: tuple[float, float] = (0.5, 3.0)
    kinds: tuple[str, ...] = tuple(FAULTS)
    via: str | None = None  # how calls are originated (default: by the seed)
    extra_campaign: str | None = None  # YAML of a second active campaign (not run)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0
    root: Path | None = None

    @property
    def survived(self) -> int:
        return sum(1 for o in self.outcomes if o.survived)

    def all_violations(self) -> list[str]:
        return [v for o in self.outcomes for v in o.violations] + self.violations


def plan(count: int, kinds: tuple[str, ...], rng: random.Random) -> list[str]:
    """``count`` faults in rounds that each hold every kind once."""
    out: list[str] = []
    while len(out) < count:
        round_ = list(kinds)
        rng.shuffle(round_)
        out += round_
    return out[:count]


async def run_chaos(o: ChaosOptions, say: Callable[[str], None] = print) -> Report:
    root = o.out or Path(tempfile.mkdtemp(prefix="dialer-chaos-"))
    rng = random.Random(o.seed)
    world = World(root, o.seed, speed=o.speed, agents=o.agents)
    report = Report(root=root)
    started = time.monotonic()
    try:
        await world.start()
        await load(world, o)
        a = world.engines["a"]
        await world.start_or_explain(a)
        await world.log_in(a)
        await _faults(world, o, rng, report, say)
        await finish(world, report)
    finally:
        await world.close()
        report.seconds = time.monotonic() - started
    if o.out is None and not report.all_violations():
        shutil.rmtree(root, ignore_errors=True)
        report.root = None
    return report


async def load(world: World, o: ChaosOptions) -> None:
    """Migrate, store the campaign (and any extra one), import the leads."""
    conn = await asyncpg.connect(world.dsn)
    try:
        await migrate(conn)
        via = o.via or ("ari" if o.seed % 2 else "ami")
        for text in (CAMPAIGN_YAML.format(via=via), o.extra_campaign):
            if text:
                camp = parse_campaign(text)
                await campaign_store.create(conn, camp)
                await campaign_store.set_status(conn, camp.name, "active")
        path = world.root / "leads.csv"
        path.write_text("phone,state\n" + "".join(
            f"212{200 + i // 10000}{i % 10000:04d},NY\n" for i in range(o.leads)))
        await import_leads(conn, path, campaign=CAMPAIGN, region="US", show_progress=False)
    finally:
        await conn.close()


async def _faults(world: World, o: ChaosOptions, rng: random.Random, report: Report,
                  say: Callable[[str], None]) -> None:
    kinds = plan(o.faults, o.kinds, rng)
    for i, kind in enumerate(kinds, start=1):
        await asyncio.sleep(rng.uniform(*o.gap))
        out = Outcome(kind, time.time())
        began = time.monotonic()
        try:
            await _alive(world, out)
            await asyncio.wait_for(FAULTS[kind](world, rng, out), FAULT_TIMEOUT)
        except Exception as exc:  # the world did not heal: the fault is not survived
            out.survived = False
            out.violations.append(f"fault {i} {kind} not survived: {type(exc).__name__}: "
                                  f"{exc}")
        report.outcomes.append(out)
        mark = "survived" if out.survived else "NOT SURVIVED"
        say(f"[{i:3d}/{len(kinds)}] {kind:<16} {mark:<12} {time.monotonic() - began:5.1f} s"
            f"  {out.detail}{'  ' + '; '.join(out.violations) if out.violations else ''}")


async def _alive(world: World, out: Outcome) -> None:
    """Engine a and the simulators must still be running: a process that died by itself
    is a violation, and is started again so the run goes on."""
    a = world.engines["a"]
    if a.proc is not None and a.proc.returncode is not None:
        out.violations.append(f"engine a died by itself (exit {a.proc.returncode}); see "
                              f"{a.log}")
        world.engine_down(a, time.time())
        await world.start_engine(a)
        await world.log_in(a)
    for sim in world.sims.values():
        if sim.proc is not None and sim.proc.returncode is not None:
            out.violations.append(f"sim {sim.name} died by itself (exit "
                                  f"{sim.proc.returncode}); see {sim.log}")
            await world.start_sim(sim)


async def finish(world: World, report: Report) -> None:
    """Settle, compare the ledgers, stop everything cleanly, and judge the records."""
    a, b = world.engines["a"], world.engines["b"]
    if b.proc is not None and b.proc.returncode != 0:  # killed last: its next start cleans
        await world.start_engine(b)
        await asyncio.sleep(2.0)
        await world.kill(b.proc, signal.SIGTERM)
        world.engine_down(b, time.time())
    if a.proc is not None and a.proc.returncode is None:
        await asyncio.sleep(3.0)
        report.violations += await _ledgers(world)
        code = await world.kill(a.proc, signal.SIGTERM)
        world.engine_down(a, time.time())
        if code != 0:
            report.violations.append(f"inv4: engine a exited {code} on the final SIGTERM")
    for sim in world.sims.values():
        report.violations += checks.leftovers(sim.name, await world.sim_state(sim))
        await world.kill(sim.proc, signal.SIGTERM)
    await _judge(world, report)


async def _ledgers(world: World) -> list[str]:
    """Invariant 6, polled for a while: the feed of other engines' rows takes a moment."""
    a = world.engines["a"]
    conn = await asyncpg.connect(world.dsn)
    try:
        seen: tuple[int, int] | None = None
        ratio: float | None = None
        want = (0, 0)
        for _ in range(50):
            want = await checks.recount(conn, CAMPAIGN)
            seen, ratio = await _ledger_of(world, a), await _metric_of(world, a)
            if seen == want and ratio is not None and abs(ratio - _rate(want)) < 1e-9:
                return []
            await asyncio.sleep(0.2)
        return [f"inv6: engine a's ledger says {seen} (live, abandoned) and its metric "
                f"{ratio}; the rows say {want} ({_rate(want)})"]
    finally:
        await conn.close()


def _rate(ledger: tuple[int, int]) -> float:
    live, abandoned = ledger
    return abandoned / live if live else 0.0


async def _metric_of(world: World, e: object) -> float | None:
    """``dialer_abandon_ratio`` of the campaign's regulatory window, from /metrics."""
    assert world.http is not None
    url = f"http://127.0.0.1:{e.http}/metrics"  # type: ignore[attr-defined]
    async with world.http.get(url) as resp:
        text = await resp.text()
    key = f'dialer_abandon_ratio{{campaign="{CAMPAIGN}",window="rolling_30d"}} '
    line = next((ln for ln in text.splitlines() if ln.startswith(key)), None)
    return None if line is None else float(line.removeprefix(key))


async def _ledger_of(world: World, e: object) -> tuple[int, int] | None:
    status = (await world.api(e, "GET", "/api/status"))["status"]  # type: ignore[arg-type]
    for campaign in status["campaigns"]:
        if campaign["name"] == CAMPAIGN:
            window = next(w for w in campaign["abandon"] if w["window"] == "rolling_30d")
            return int(window["live_answers"]), int(window["abandoned"])
    return None


async def _judge(world: World, report: Report) -> None:
    records = {name: load_record(sim.record) for name, sim in world.sims.items()}
    conn = await asyncpg.connect(world.dsn)
    try:
        by_id = await checks.rows(conn)
        report.violations += await checks.open_records(conn)
    finally:
        await conn.close()
    report.violations += checks.duplicates(records.values())
    report.violations += checks.crowded_bridges(records.values())
    end = time.time()
    for name, record in records.items():
        timelines = checks.timelines_of([record])
        report.calls += len(timelines)
        engine = world.engines["a" if name == "1" else "b"]
        report.violations += checks.unrecorded(timelines, by_id)
        report.violations += checks.live_answers(timelines, by_id, engine.served, end)
