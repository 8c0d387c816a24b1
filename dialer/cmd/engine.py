"""Subcommands (to be filled in)."""

from __future__ import annotations

from dialer.cmd import SubParsers


def register(sub: SubParsers, bench: SubParsers) -> None:
    """Add this area's commands."""
