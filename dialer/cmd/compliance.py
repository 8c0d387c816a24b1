"""Compliance commands: `dialer check`, `dialer optout`, `dialer attempts import`,
`dialer bench compliance`."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from dialer.cmd import CliError, SubParsers, run_async
from dialer.core.compliance import CampaignRules, NumberFacts, Verdict, check, number_facts
from dialer.core.errors import ConfigError
from dialer.store import compliance_load, compliance_ops
from dialer.store.db import redact_dsn


def register(sub: SubParsers, bench: SubParsers) -> None:
    """Add this area's commands."""
    p = sub.add_parser("check", help="explain whether numbers may be dialled now")
    p.add_argument("numbers", nargs="+", metavar="NUMBER")
    p.add_argument("--campaign", required=True, metavar="NAME")
    p.add_argument("--at", metavar="ISO-8601", help="the instant to judge (default: now)")
    p.add_argument("--state", metavar="XX", help="the lead's state")
    p.add_argument("--zip", metavar="ZIP", help="the lead's ZIP code")
    p.add_argument("--json", action="store_true", help="one JSON object per number per line")
    _dsn_arg(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("optout", help="add a number to the internal do-not-call list now")
    p.add_argument("number")
    p.add_argument("--reason")
    _dsn_arg(p)
    p.set_defaults(func=cmd_optout)

    attempts = sub.add_parser("attempts", help="call history")
    asub = attempts.add_subparsers(dest="attempts_command", metavar="ACTION", required=True)
    p = asub.add_parser("import", help="import call history (phone,campaign,started_at,outcome)")
    p.add_argument("file", type=Path, metavar="FILE.csv")
    _dsn_arg(p)
    p.set_defaults(func=cmd_attempts_import)

    p = bench.add_parser("compliance", help="load and check speed of the compliance filter")
    p.add_argument("--numbers", type=int, default=25_000_000, metavar="N",
                   help="numbers on the synthetic national list (default 25M)")
    p.add_argument("--checks", type=int, default=200_000, metavar="N")
    p.add_argument("--dsn", help="use this database instead of a throwaway embedded one")
    p.set_defaults(func=cmd_bench)


def _dsn_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", help="PostgreSQL DSN (default: $DIALER_DATABASE_URL)")


def resolve_dsn(args: argparse.Namespace) -> str:
    """Where the database is: --dsn, else $DIALER_DATABASE_URL."""
    dsn = getattr(args, "dsn", None) or os.environ.get("DIALER_DATABASE_URL")
    if not dsn:
        raise CliError("no database: pass --dsn or set DIALER_DATABASE_URL")
    return str(dsn)


async def _connect(args: argparse.Namespace) -> asyncpg.Pool:
    dsn = resolve_dsn(args)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    except (OSError, asyncpg.PostgresError) as exc:
        raise CliError(f"cannot connect to {redact_dsn(dsn)}: {exc}") from None
    assert pool is not None
    return pool


# ---- check ---------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    at = parse_at(args.at)
    return run_async(_check(args, at))


def parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--at: not an ISO-8601 time: {text!r}") from None
    if at.tzinfo is None:
        raise CliError(f"--at: give a UTC offset, e.g. {text}Z or {text}-05:00")
    return at


async def _check(args: argparse.Namespace, at: datetime) -> int:
    pool = await _connect(args)
    try:
        async with pool.acquire() as conn:
            rules = await _campaign(conn, args.campaign)
            facts = [_facts(n, rules, args.state, args.zip) for n in args.numbers]
            phones = [f.e164 for f in facts if f.e164]
            data = await compliance_load.load_for_numbers(conn, phones, rules.name, at)
    finally:
        await pool.close()
    for given, f in zip(args.numbers, facts, strict=True):
        print(render(given, f, check(f, rules, at, data), as_json=args.json))
    return 0


async def _campaign(conn: asyncpg.Connection, name: str) -> CampaignRules:
    try:
        rules = await compliance_load.campaign_rules(conn, name)
    except ConfigError as exc:
        raise CliError(f"campaign {name!r} has bad compliance keys: {exc}") from None
    if rules is None:
        raise CliError(f"no campaign named {name!r}")
    return rules


def _facts(number: str, rules: CampaignRules, state: str | None, zip_: str | None) -> NumberFacts:
    try:
        return number_facts(number, rules.region, state, zip_)
    except ValueError as exc:
        raise CliError(f"--state: {exc}") from None


def render(given: str, facts: NumberFacts, verdict: Verdict, *, as_json: bool) -> str:
    if as_json:
        return json.dumps({"number": given, "e164": facts.e164 or None, **verdict.to_json()})
    head = f"{given}: {'allowed' if verdict.allowed else 'blocked'}"
    lines = [head] + [f"  {d.reason}: {d.message}" for d in verdict.details]
    return "\n".join(lines)


# ---- optout --------------------------------------------------------------------------

def cmd_optout(args: argparse.Namespace) -> int:
    facts = number_facts(args.number, "US")
    if not facts.e164:
        raise CliError(f"not a phone number: {args.number!r}")
    return run_async(_optout(args, facts.e164))


async def _optout(args: argparse.Namespace, phone: int) -> int:
    pool = await _connect(args)
    try:
        await compliance_ops.insert_opt_out(pool, phone, "cli", reason=args.reason)
    finally:
        await pool.close()
    print(f"+{phone} is on the internal do-not-call list")
    return 0


# ---- attempts import -----------------------------------------------------------------

def cmd_attempts_import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    try:
        rows = compliance_ops.read_attempts(args.file)
    except (compliance_ops.AttemptsFileError, UnicodeDecodeError) as exc:
        raise CliError(str(exc)) from None
    return run_async(_import(args, rows))


async def _import(args: argparse.Namespace,
                  rows: Sequence[compliance_ops.ImportedAttempt]) -> int:
    pool = await _connect(args)
    try:
        count = await compliance_ops.import_attempts(pool, rows)
    except compliance_ops.AttemptsFileError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    finally:
        await pool.close()
    print(f"imported {count} attempts from {args.file}")
    return 0


# ---- bench ---------------------------------------------------------------------------

def cmd_bench(args: argparse.Namespace) -> int:
    from dialer.store import compliance_bench

    if args.numbers < 1_000:
        raise CliError("--numbers: at least 1000")
    return run_async(compliance_bench.run(args.numbers, args.checks, args.dsn))
