"""`dialer leads import`, `dialer dnc import`, `dialer consent import`, and
`dialer bench import`."""

from __future__ import annotations

import argparse
from pathlib import Path

import asyncpg

from dialer.cmd import CliError, SubParsers, add_db_options, connect, resolve_dsn, run_async
from dialer.imports.source import ImportFileError
from dialer.store.leads import UnknownCampaign
from dialer.store.lists import KINDS, ListError


def register(sub: SubParsers, bench: SubParsers) -> None:
    _register_leads(sub)
    _register_dnc(sub)
    _register_consent(sub)
    from dialer.imports.bench import register_bench

    register_bench(bench)


def _action(sub: SubParsers, name: str, help_: str) -> argparse.ArgumentParser:
    group = sub.add_parser(name, help=help_)
    actions = group.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    parser = actions.add_parser("import", help=f"import a {name} file")
    add_db_options(parser)
    parser.add_argument("file", type=Path)
    parser.add_argument("--region", help="default region for national numbers "
                        "(default: imports.default_region)")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    return parser


def _register_leads(sub: SubParsers) -> None:
    p = _action(sub, "leads", "lead lists")
    p.add_argument("--campaign", required=True, help="campaign name")
    p.set_defaults(func=lambda a: run_async(_guard(_leads(a))))


def _register_dnc(sub: SubParsers) -> None:
    p = _action(sub, "dnc", "do-not-call lists")
    p.add_argument("--list", required=True, dest="list_name", help="list name")
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--state", help="two-letter state (kind state)")
    p.add_argument("--campaign", help="campaign name (kind campaign)")
    p.set_defaults(func=lambda a: run_async(_guard(_dnc(a))))


def _register_consent(sub: SubParsers) -> None:
    p = _action(sub, "consent", "consent records")
    p.set_defaults(func=lambda a: run_async(_guard(_consent(a))))


async def _guard(coro: object) -> int:
    try:
        return int(await coro)  # type: ignore[misc]
    except (ImportFileError, UnknownCampaign, ListError) as exc:
        raise CliError(str(exc)) from None
    except asyncpg.PostgresError as exc:
        raise CliError(f"database refused the import: {exc}") from None


def _region(args: argparse.Namespace) -> str:
    from dialer.cmd import load_cfg

    region = (args.region or load_cfg(args).imports.default_region).upper()
    if len(region) != 2 or not region.isalpha():
        raise CliError(f"--region: expected a two-letter region code, got {region!r}")
    return str(region)


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def _summary(what: str, imported: int, rejected: int, rejects: Path | None, secs: float) -> None:
    rate = imported / secs if secs > 0 else 0.0
    print(f"{what}: {imported:,} imported, {rejected:,} rejected in {secs:.1f} s "
          f"({rate:,.0f} rows/s)")
    if rejects is not None:
        print(f"rejected rows (line and reason): {rejects}")


async def _leads(args: argparse.Namespace) -> int:
    from dialer.imports.leads import import_leads

    region, dsn = _region(args), resolve_dsn(args)
    conn = await connect(dsn)
    try:
        res = await import_leads(conn, args.file, campaign=args.campaign, region=region,
                                 show_progress=_progress(args))
    finally:
        await conn.close()
    _summary(f"leads for {args.campaign}", res.imported, res.rejected, res.rejects_file,
             res.seconds)
    return 0


def _dnc_scope(args: argparse.Namespace, region: str) -> str | None:
    if args.kind == "state":
        if not args.state or len(args.state) != 2:
            raise CliError("--state XX is required for a state list")
        return str(args.state.upper())
    if args.kind == "campaign":
        if not args.campaign:
            raise CliError("--campaign NAME is required for a campaign list")
        return str(args.campaign)
    if args.state or args.campaign:
        raise CliError(f"--state and --campaign do not apply to a {args.kind} list")
    return region if args.kind == "national" else None


async def _dnc(args: argparse.Namespace) -> int:
    from dialer.imports.dnc import import_dnc

    region = _region(args)
    scope = _dnc_scope(args, region)
    conn = await connect(resolve_dsn(args))
    try:
        res = await import_dnc(conn, args.file, name=args.list_name, kind=args.kind,
                               scope=scope, region=region, show_progress=_progress(args))
    finally:
        await conn.close()
    _summary(f"dnc list {args.list_name} version {res.loaded.version}", res.loaded.rows,
             res.rejected, res.rejects_file, res.seconds)
    return 0


async def _consent(args: argparse.Namespace) -> int:
    from dialer.imports.consents import import_consents

    region = _region(args)
    conn = await connect(resolve_dsn(args))
    try:
        res = await import_consents(conn, args.file, region=region,
                                    show_progress=_progress(args))
    finally:
        await conn.close()
    _summary("consents", res.imported, res.rejected, res.rejects_file, res.seconds)
    return 0
