"""`dialer run` and `dialer demo`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from dialer.cmd import (
    CliError,
    SubParsers,
    add_config_option,
    load_cfg,
    positive_float,
    positive_int,
    run_async,
)


def register(sub: SubParsers, bench: SubParsers) -> None:
    demo = sub.add_parser("demo", help="the whole dialer on embedded defaults (about a minute)")
    demo.add_argument("--seconds", type=positive_float, default=60.0,
                      help="how long the engine runs")
    demo.add_argument("--speed", type=positive_float, default=8.0,
                      help="simulated time per real second (talk, ring and AMD times)")
    demo.add_argument("--agents", type=positive_int, default=6, help="simulated agents")
    demo.add_argument("--leads", type=positive_int, default=300, help="demo leads to load")
    demo.add_argument("--metrics", type=Path, metavar="FILE",
                      help="write the final /metrics exposition to FILE")
    demo.set_defaults(func=lambda a: run_async(_demo(a)))
    b = bench.add_parser("engine", help="one engine against the simulated Asterisk, or a "
                         "real one (--real, --ami)")
    b.add_argument("--seconds", type=positive_float, default=60.0,
                   help="measured seconds (60)")
    b.add_argument("--warmup", type=positive_float, default=20.0,
                   help="seconds before measuring (20)")
    b.add_argument("--lines", type=positive_int, default=1200,
                   help="broadcast calls kept up (1200)")
    b.add_argument("--cps", type=positive_float, default=150.0,
                   help="originates per second cap (150)")
    b.add_argument("--agents", type=positive_int, default=50, help="simulated agents (50)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    _real_options(b)
    b.set_defaults(func=lambda a: run_async(_bench(a)))
    run = sub.add_parser("run", help="run every active campaign")
    add_config_option(run)
    run.set_defaults(func=lambda a: run_async(_run(a)))


async def _demo(args: argparse.Namespace) -> int:
    from dialer.demo.run import DemoOptions, run_demo

    code = await run_demo(DemoOptions(seconds=args.seconds, speed=args.speed,
                                      agents=args.agents, leads=args.leads))
    if args.metrics is not None:
        from dialer.obs.metrics import exposition

        args.metrics.write_bytes(exposition())
        print(f"metrics written to {args.metrics}")
    return code


def _real_options(b: argparse.ArgumentParser) -> None:
    from dialer.testing.capacity_options import CapacityOptions

    real = b.add_argument_group(
        "a real Asterisk", "drive a real Asterisk instead of the simulator: the originate "
        "rate steps up until Asterisk saturates (docs/capacity.md)")
    real.add_argument("--real", action="store_true",
                      help="start a throwaway Asterisk from the cached build "
                           "(tests/real/build-asterisk.sh)")
    real.add_argument("--ami", metavar="HOST:PORT",
                      help="a given Asterisk's AMI (with --ari; secrets from "
                           "DIALER_AMI_SECRET and DIALER_ARI_PASSWORD)")
    real.add_argument("--ari", metavar="URL", help="that Asterisk's ARI, http://host:8088")
    real.add_argument("--asterisk-pid", type=positive_int, metavar="PID",
                      help="that Asterisk's PID, to read its CPU (same machine only)")
    real.add_argument("--rates", type=_rates, default=CapacityOptions.rates,
                      metavar="R1,R2,...", help="originates/s asked, step by step, until "
                      "one saturates (5,10,15,20,30,40,60,80,100,120)")
    real.add_argument("--step-seconds", type=positive_float, default=30.0,
                      help="seconds per step; the second half is measured (30)")
    real.add_argument("--via", choices=("ami", "ari"), default="ami",
                      help="originate over AMI or ARI (ami)")


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rates wants numbers like 20,40,60: {text!r}") from None
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError(f"--rates wants positive numbers: {text!r}")
    return rates


async def _bench(args: argparse.Namespace) -> int:
    if args.real or args.ami or args.ari:
        return await _bench_real(args)
    from dialer.runtime.bench import BenchOptions, print_figures, run_bench

    figures = await run_bench(BenchOptions(seconds=args.seconds, warmup=args.warmup,
                                           lines=args.lines, cps=args.cps, agents=args.agents))
    print_figures(figures, args.json)
    return 0


async def _bench_real(args: argparse.Namespace) -> int:
    import json

    from dialer.obs.logging import configure_logging
    from dialer.testing.capacity import print_capacity, run_capacity
    from dialer.testing.capacity_options import CapacityError, CapacityOptions

    if args.real and args.ami:
        raise CliError("--real starts an Asterisk, --ami names one: give one of them")
    if bool(args.ami) != bool(args.ari):
        raise CliError("a given Asterisk needs both --ami HOST:PORT and --ari URL")
    options = CapacityOptions(rates=args.rates, step_s=args.step_seconds, via=args.via,
                              ami=args.ami, ari=args.ari, asterisk_pid=args.asterisk_pid)
    configure_logging("console", "error")
    try:
        figures = await run_capacity(options, lambda line: print(line, flush=True))
    except CapacityError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(figures))
    else:
        print_capacity(figures)
    return 0


async def _run(args: argparse.Namespace) -> int:
    import os

    from dialer.app import DialerApp, StartupError
    from dialer.obs.logging import configure_logging, secrets_from_config

    cfg = load_cfg(args)
    configure_logging(cfg.logging.format, cfg.logging.level,
                      secrets=secrets_from_config(cfg, os.environ))
    if not cfg.database.url:
        raise CliError("database.url is not set (or DIALER_DATABASE_URL): `dialer run` "
                       "needs a real PostgreSQL")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await DialerApp(cfg, cfg.database.url).run(stop)
    except StartupError as exc:
        raise CliError(str(exc)) from None
    return 0
