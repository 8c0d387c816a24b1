"""`dialer chaos`: faults on real processes, invariants checked afterwards."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from dialer.cmd import CliError, SubParsers, positive_float, positive_int, run_async


def register(sub: SubParsers, bench: SubParsers) -> None:
    p = sub.add_parser(
        "chaos", help="kill and restart real processes at random; check the invariants",
        description="Run a campaign on real processes (two `dialer sim`, engines under "
                    "`dialer run`, an embedded PostgreSQL), inject faults at random moments "
                    "from a seed, then check from the simulators' own records and Postgres "
                    "that no number was dialled twice, no attempt or lease was left open, "
                    "every live answer was bridged in time or counted abandoned, nothing "
                    "was left in Asterisk, agents came back by themselves and the ledgers "
                    "equal the rows. Exits 1 on any violation.")
    p.add_argument("--faults", type=positive_int, default=200, help="faults to inject (200)")
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    p.add_argument("--leads", type=positive_int, default=20_000, help="leads loaded (20000)")
    p.add_argument("--agents", type=positive_int, default=8, help="agents per engine (8)")
    p.add_argument("--speed", type=positive_float, default=10.0,
                   help="simulated time per real second (10)")
    p.add_argument("--kinds", help="comma-separated fault kinds (default: all)")
    p.add_argument("--out", type=Path, help="keep the processes' logs and records here")
    p.set_defaults(func=lambda a: run_async(_chaos(a)))


def _kinds(text: str | None) -> tuple[str, ...]:
    from dialer.chaos.faults import FAULTS

    if not text:
        return tuple(FAULTS)
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown or not kinds:
        raise CliError(f"--kinds: unknown {', '.join(unknown) or '(empty)'}; known: "
                       f"{', '.join(FAULTS)}")
    return kinds


async def _chaos(args: argparse.Namespace) -> int:
    from dialer.chaos.run import ChaosOptions, run_chaos

    options = ChaosOptions(faults=args.faults, seed=args.seed, out=args.out,
                           leads=args.leads, agents=args.agents, speed=args.speed,
                           kinds=_kinds(args.kinds))
    run = asyncio.ensure_future(run_chaos(options, say=lambda line: print(line, flush=True)))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # stop the world's processes on the way out
        loop.add_signal_handler(sig, run.cancel)
    try:
        report = await run
    except asyncio.CancelledError:
        raise CliError("interrupted: every process of the chaos world was stopped") from None
    violations = report.all_violations()
    print(f"faults survived {report.survived}/{len(report.outcomes)}, violations "
          f"{len(violations)}  ({report.calls} calls, {report.seconds:.0f} s, seed {args.seed})")
    for line in violations:
        print(f"  {line}")
    if report.root is not None:
        print(f"logs and records: {report.root}")
    return 1 if violations else 0
