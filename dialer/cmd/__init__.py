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
