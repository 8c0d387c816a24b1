"""`dialer campaign create|list|show|start|pause|stop`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dialer.cmd import CliError, SubParsers, add_db_options, connect, resolve_dsn, run_async
from dialer.core.errors import ConfigError


def register(sub: SubParsers, bench: SubParsers) -> None:
    camp = sub.add_parser("campaign", help="campaign definitions")
    actions = camp.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a campaign from a YAML definition")
    add_db_options(create)
    create.add_argument("file", type=Path)
    create.add_argument("--update", action="store_true", help="replace an existing definition")
    create.add_argument("--start", action="store_true", help="make it active at once")
    create.set_defaults(func=lambda a: run_async(_create(a)))
    lst = actions.add_parser("list", help="list campaigns")
    add_db_options(lst)
    lst.set_defaults(func=lambda a: run_async(_list(a)))
    show = actions.add_parser("show", help="show one campaign's definition")
    add_db_options(show)
    show.add_argument("name")
    show.set_defaults(func=lambda a: run_async(_show(a)))
    for verb, status in (("start", "active"), ("pause", "paused"), ("stop", "stopped")):
        p = actions.add_parser(verb, help=f"set a campaign {status}")
        add_db_options(p)
        p.add_argument("name")
        p.set_defaults(func=lambda a, s=status: run_async(_status(a, s)))


async def _create(args: argparse.Namespace) -> int:
    from dialer.campaigns import load_campaign
    from dialer.store import campaigns as store

    try:
        camp = load_campaign(args.file)
    except ConfigError as err:
        raise CliError(str(err)) from None
    conn = await connect(resolve_dsn(args))
    try:
        async with conn.transaction():
            what = await store.create(conn, camp, update=args.update)
            if args.start:
                await store.set_status(conn, camp.name, "active")
    except store.CampaignExists as exc:
        raise CliError(str(exc)) from None
    finally:
        await conn.close()
    print(f"campaign {camp.name!r} {what} ({camp.mode}, via {camp.originate_via})")
    return 0


async def _list(args: argparse.Namespace) -> int:
    from dialer.store import campaigns as store

    conn = await connect(resolve_dsn(args))
    try:
        rows = await store.list_all(conn)
    finally:
        await conn.close()
    print(f"{'name':<24} {'status':<8} {'mode':<12} {'via':<4} {'caller id':<16} leads")
    for r in rows:
        print(f"{r['name']:<24} {r['status']:<8} {r['mode']:<12} {r['originate_via']:<4} "
              f"{r['caller_id']:<16} {r['leads']}")
    return 0


async def _show(args: argparse.Namespace) -> int:
    from dialer.store import campaigns as store

    conn = await connect(resolve_dsn(args))
    try:
        row = await store.get(conn, args.name)
    finally:
        await conn.close()
    if row is None:
        raise CliError(f"unknown campaign {args.name!r}")
    out = {"name": row["name"], "status": row["status"],
           "definition": json.loads(row["definition"])}
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0


async def _status(args: argparse.Namespace, status: str) -> int:
    from dialer.store import campaigns as store

    conn = await connect(resolve_dsn(args))
    try:
        found = await store.set_status(conn, args.name, status)
    finally:
        await conn.close()
    if not found:
        raise CliError(f"unknown campaign {args.name!r}")
    print(f"campaign {args.name!r} is now {status}")
    return 0
