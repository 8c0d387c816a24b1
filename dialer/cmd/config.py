"""`dialer config check FILE` and `dialer config reference`."""

from __future__ import annotations

import argparse

from dialer.cmd import CliError, SubParsers
from dialer.core.errors import ConfigError


def register(sub: SubParsers, bench: SubParsers) -> None:
    cfg = sub.add_parser("config", help="configuration files")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = cfg_sub.add_parser("check", help="validate an engine config or campaign file")
    check.add_argument("file", help="YAML file")
    check.add_argument("--campaign", action="store_true",
                       help="the file is a campaign definition (found by itself when the "
                            "file has top-level name and mode keys)")
    check.set_defaults(func=_check)
    ref = cfg_sub.add_parser("reference", help="print every config key with its default")
    ref.add_argument("--campaign", action="store_true", help="campaign keys instead")
    ref.set_defaults(func=_reference)


def _check(args: argparse.Namespace) -> int:
    from dialer.campaigns import load_campaign
    from dialer.config import load_config

    try:
        if args.campaign or _looks_like_campaign(args.file):
            camp = load_campaign(args.file)
            print(f"{args.file}: campaign {camp.name!r} is valid")
        else:
            load_config(args.file, env={})
            print(f"{args.file}: configuration is valid")
    except ConfigError as err:
        raise CliError(str(err)) from None
    return 0


def _looks_like_campaign(path: str) -> bool:
    from dialer.schema import load_yaml_file

    data = load_yaml_file(path).data
    return isinstance(data, dict) and {"name", "mode"} <= data.keys()


def _reference(args: argparse.Namespace) -> int:
    from dialer.campaigns import CampaignDef
    from dialer.config import Config
    from dialer.schema import reference

    for path, doc, default in reference(CampaignDef if args.campaign else Config):
        shown = "" if hasattr(default, "__dataclass_fields__") else f" [{default!r}]"
        print(f"{path:<34} {doc}{shown}")
    return 0
