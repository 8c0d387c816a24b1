"""The `dialer` command.

Each area registers its subcommands from its own module in `dialer/cmd/`, so the
command grows without one file that everybody edits. A command returns an exit code;
expected failures raise :class:`CliError` and print one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dialer.cmd import CliError

COMMAND_MODULES = (
    "dialer.cmd.db",
    "dialer.cmd.config",
    "dialer.cmd.imports",
    "dialer.cmd.campaign",
    "dialer.cmd.compliance",
    "dialer.cmd.sim",
    "dialer.cmd.pacing",
    "dialer.cmd.engine",
    "dialer.cmd.chaos",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialer", description="Predictive dialer for Asterisk."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    bench = sub.add_parser("bench", help="benchmarks that print measured figures")
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, bench_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except CliError as exc:
        print(f"dialer: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("dialer: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
