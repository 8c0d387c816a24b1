"""`dialer sim` (the simulated Asterisk, standalone) and `dialer bench sim`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from typing import TYPE_CHECKING

from dialer.cmd import CliError, SubParsers, positive_float, positive_int, run_async

if TYPE_CHECKING:
    from dialer.sim.model import CalleeModel


def register(sub: SubParsers, bench: SubParsers) -> None:
    """Add ``dialer sim`` and ``dialer bench sim``."""
    p = sub.add_parser("sim", help="run the simulated Asterisk (AMI, ARI, FastAGI)",
                       description="Serve a simulated Asterisk 22 on real sockets until "
                                   "interrupted. Binds to loopback unless told otherwise.")
    p.add_argument("--ami", default="127.0.0.1:5038", metavar="HOST:PORT",
                   help="AMI listen address (default 127.0.0.1:5038; port 0 = any free)")
    p.add_argument("--ari", default="127.0.0.1:8088", metavar="HOST:PORT",
                   help="ARI listen address (default 127.0.0.1:8088)")
    p.add_argument("--agi", default="127.0.0.1:4573", metavar="HOST:PORT",
                   help="the engine's FastAGI server (default 127.0.0.1:4573)")
    p.add_argument("--scenario", metavar="FILE", help="scenario YAML for the called parties "
                   "(default: the last-digit mapping)")
    p.add_argument("--speed", type=positive_float, default=1.0, metavar="X",
                   help="time factor: 10 runs ten times faster than real time (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--app", default="dialer", help="Stasis application name (default dialer)")
    p.add_argument("--username", default="dialer", help="AMI and ARI user (default dialer)")
    p.add_argument("--secret", default="dialer-secret", help="AMI and ARI secret")
    p.add_argument("--record", metavar="FILE",
                   help="append the simulator's record (one JSON line per originate, "
                        "answer, AMD verdict, bridge change, playback, hangup, fault) to "
                        "FILE; see docs/sim-control.md")
    p.set_defaults(func=run_sim)

    b = bench.add_parser("sim", help="measure one simulator process over AMI",
                         description="Originate calls into a simulator process at a fixed "
                                     "rate; print originates/s, peak concurrent channels and "
                                     "events delivered.")
    b.add_argument("--calls", type=positive_int, default=600, help="calls to place (default 600)")
    b.add_argument("--rate", type=float, default=250.0, help="originates per second (250)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=run_bench)

def host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (IPv6 in brackets) or a clear error naming the option."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise CliError(f"{option}: expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def run_sim(args: argparse.Namespace) -> int:
    ami = host_port(args.ami, "--ami")
    ari = host_port(args.ari, "--ari")
    agi = host_port(args.agi, "--agi")
    model = None
    if args.scenario:
        from dialer.core.errors import ConfigError
        from dialer.sim.scenario import load_scenario

        try:
            model = load_scenario(args.scenario).callee_model(args.seed)
        except (ConfigError, OSError) as exc:
            raise CliError(f"--scenario: {exc}") from exc
    return run_async(_serve(args, ami, ari, agi, model))


async def _serve(args: argparse.Namespace, ami: tuple[str, int], ari: tuple[str, int],
                 agi: tuple[str, int], model: CalleeModel | None) -> int:
    from dialer.sim.server import SimAsterisk

    sim = SimAsterisk(seed=args.seed, speed=args.speed, model=model,
                      username=args.username, secret=args.secret, app_name=args.app,
                      agi_url=f"agi://{agi[0]}:{agi[1]}/amd", record_file=args.record)
    try:
        await sim.start(ami[0], ami[1], ari[1], ari_host=ari[0])
    except OSError as exc:
        await sim.stop()
        what = "--record" if sim.record_file is not None and sim.record.path is None \
            else "cannot listen"
        raise CliError(f"{what}: {exc}") from exc
    record = f", record {args.record}" if args.record else ""
    print(f"simulated Asterisk: AMI {sim.host}:{sim.ami_port}, ARI {sim.ari_url}, "
          f"FastAGI to {agi[0]}:{agi[1]}, speed {args.speed:g}, "
          f"control {sim.control_url}{record}", flush=True)
    try:
        await _until_signal()
    finally:
        await sim.stop()
    return 0


async def _until_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run_bench(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise CliError(f"--rate: must be above 0, got {args.rate}")
    return run_async(_bench(args))


async def _bench(args: argparse.Namespace) -> int:
    from dialer.sim.bench import BenchSettings, run_bench

    result = await run_bench(BenchSettings(calls=args.calls, rate=args.rate))
    s = result.summary()
    if args.json:
        print(json.dumps(s))
        return 0
    lat = s["originate_to_answer_ms"]
    print(f"calls             {s['calls']} ({s['answered']} answered)")
    print(f"originates/s      {s['originates_per_s']} (asked {args.rate:g})")
    print(f"peak channels     {s['peak_channels']}")
    print(f"events delivered  {s['events']} ({s['events_per_s']}/s)")
    print(f"originate->answer p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms")
    return 0
