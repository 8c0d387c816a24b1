"""Subcommands of `dialer`, one module per area.

Each module exposes ``register(sub, bench)``: ``sub`` is the top-level subparsers
object, ``bench`` the subparsers of ``dialer bench``. A command's parser sets
``func=callable(args) -> int``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from typing import Any, TypeAlias

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """An expected failure: printed as one line, exit code ``code`` (default 2)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine on the fastest loop available."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", help="configuration file (YAML)")


def add_db_options(parser: argparse.ArgumentParser) -> None:
    """``-c CONFIG`` and ``--dsn``: where the database is."""
    add_config_option(parser)
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: env DIALER_DATABASE_URL, "
                        "then database.url in the config)")


def load_cfg(args: argparse.Namespace) -> Any:
    """The validated config named by ``-c`` (defaults when absent)."""
    from dialer.config import load_config
    from dialer.core.errors import ConfigError

    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as err:
        raise CliError(str(err)) from None


def resolve_dsn(args: argparse.Namespace) -> str:
    """--dsn, else DIALER_DATABASE_URL, else the config's database.url."""
    dsn = getattr(args, "dsn", None) or load_cfg(args).database.url
    if not dsn:
        raise CliError("no database given: pass --dsn, set DIALER_DATABASE_URL, "
                       "or set database.url in the config file")
    return str(dsn)


async def connect(dsn: str) -> Any:
    """One connection, with connection errors turned into a clear CliError."""
    import asyncpg

    from dialer.store.db import redact_dsn

    try:
        return await asyncpg.connect(dsn, timeout=10)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise CliError(f"cannot connect to the database {redact_dsn(dsn)}: {exc}") from None
