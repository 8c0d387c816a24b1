"""`dialer bench pacing`: run pacers through the discrete-event simulation."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from dialer.cmd import CliError, SubParsers, positive_int
from dialer.core.errors import ConfigError
from dialer.core.pacing import PACERS, make_pacer
from dialer.sim.des import SimSettings, Simulation
from dialer.sim.des_report import ShiftResult
from dialer.sim.scenario import Scenario, load_scenario

DEFAULT_PACERS = ("predictive", "progressive", "adapt_tapered")


def register(sub: SubParsers, bench: SubParsers) -> None:
    """Add ``dialer bench pacing``."""
    p = bench.add_parser("pacing", help="run pacers on a scenario in the event simulation",
                         description="Simulate shifts of a scenario with each pacer and "
                                     "print talk time, occupancy and abandonment.")
    p.add_argument("--scenario", required=True, metavar="FILE", help="scenario YAML")
    p.add_argument("--pacer", action="extend", nargs="+", choices=PACERS, metavar="NAME",
                   help=f"pacers to run ({', '.join(PACERS)}; default: "
                        f"{', '.join(DEFAULT_PACERS)})")
    p.add_argument("--agents", action="extend", nargs="+", type=positive_int, metavar="N",
                   help="team sizes (default: the scenario's)")
    p.add_argument("--seeds", type=positive_int, default=3, metavar="N",
                   help="seeds per pacer and team size (default 3)")
    p.add_argument("--hours", type=float, metavar="H", help="shift length (default: scenario)")
    p.add_argument("--window", type=float, default=60.0, metavar="MIN",
                   help="rolling window for the worst abandonment rate, minutes (default 60)")
    p.add_argument("--power-ratio", type=float, default=2.0, metavar="R",
                   help="calls per ready agent for the power pacer (default 2.0)")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="simulations to run in parallel (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)



@dataclass(frozen=True, slots=True)
class Job:
    scenario: Scenario
    pacer: str
    seed: int
    window_s: float
    power_ratio: float


def simulate(job: Job) -> ShiftResult:
    pacer = make_pacer(job.pacer, limit=job.scenario.abandon_limit, power_ratio=job.power_ratio)
    return Simulation(job.scenario, pacer, job.seed, SimSettings(window_s=job.window_s)).run()


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if args.hours is not None:
        if args.hours <= 0:
            raise CliError("--hours must be greater than 0")
        scenario = scenario.with_hours(args.hours)
    jobs = [Job(scenario.with_agents(n), pacer, seed, args.window * 60.0, args.power_ratio)
            for n in args.agents or [scenario.agents]
            for pacer in args.pacer or DEFAULT_PACERS for seed in range(args.seeds)]
    results = _run_all(jobs, args.jobs)
    groups = _group(results)
    if args.json:
        json.dump(_as_json(scenario, args, groups), sys.stdout, indent=2)
        print()
    else:
        print(_table(scenario, args, groups))
    return 0


def _run_all(jobs: Sequence[Job], workers: int) -> list[ShiftResult]:
    if workers == 1:
        return [simulate(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(simulate, jobs))


def _group(results: Sequence[ShiftResult]) -> list[list[ShiftResult]]:
    groups: dict[tuple[int, str], list[ShiftResult]] = {}
    for r in results:
        groups.setdefault((r.agents, r.pacer), []).append(r)
    return list(groups.values())


def _mean(group: Sequence[ShiftResult], key: str) -> float:
    return statistics.fmean(float(getattr(r, key)) for r in group)


SUMMARY = ("talk_min_per_agent_hour", "occupancy", "abandon_rate", "worst_window_rate",
           "mean_wait_s", "calls_per_agent_hour", "wall_s")


def _as_json(scenario: Scenario, args: argparse.Namespace,
             groups: Sequence[list[ShiftResult]]) -> dict[str, Any]:
    return {
        "scenario": scenario.name, "hours": scenario.shift_s / 3600.0, "seeds": args.seeds,
        "abandon_limit": scenario.abandon_limit, "window_min": args.window,
        "results": [{"agents": g[0].agents, "pacer": g[0].pacer,
                     "mean": {key: _mean(g, key) for key in SUMMARY},
                     "max_abandon_rate": max(r.abandon_rate for r in g),
                     "runs": [r.as_dict() for r in g]} for g in groups]}


def _head(seed_width: int) -> str:
    return (f"{'agents':>6} {'pacer':<14} {'talk min/agent-h':>16} {'occupancy':>9} "
            f"{'abandon %':>9} {'per seed %':<{seed_width}} {'worst win %':>11} "
            f"{'wait s':>7} {'calls/agent-h':>13} {'sim s':>6}")


def _table(scenario: Scenario, args: argparse.Namespace,
           groups: Sequence[list[ShiftResult]]) -> str:
    seeds = f"{args.seeds} seed" + ("s" if args.seeds != 1 else "")
    lines = [f"scenario {scenario.name}: {scenario.shift_s / 3600.0:g} h, {seeds}, "
             f"abandon limit {100 * scenario.abandon_limit:g}%, worst rolling "
             f"window {args.window:g} min"]
    width = max(22, 5 * args.seeds)
    lines.append(_head(width))
    for g in groups:
        per_seed = " ".join(f"{100 * r.abandon_rate:.2f}" for r in g)
        lines.append(
            f"{g[0].agents:>6} {g[0].pacer:<14} {_mean(g, 'talk_min_per_agent_hour'):>16.1f} "
            f"{_mean(g, 'occupancy'):>9.3f} {100 * _mean(g, 'abandon_rate'):>9.2f} "
            f"{per_seed:<{width}} {100 * max(r.worst_window_rate for r in g):>11.2f} "
            f"{_mean(g, 'mean_wait_s'):>7.1f} {_mean(g, 'calls_per_agent_hour'):>13.1f} "
            f"{_mean(g, 'wall_s'):>6.1f}")
    return "\n".join(lines)
