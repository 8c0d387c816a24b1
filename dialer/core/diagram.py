"""State diagrams generated from the transition tables (Mermaid), for docs/engine.md."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from dialer.core import agent, call

S = TypeVar("S", bound=Enum)


def mermaid(table: Mapping[tuple[S, str], tuple[S, object]], *,
            include_stays: bool = False) -> str:
    """``stateDiagram-v2`` text: one edge per (state, event) -> state of ``table``."""
    edges: dict[tuple[str, str], list[str]] = {}
    for (state, kind), (target, _action) in table.items():
        if state is target and not include_stays:
            continue
        edges.setdefault((str(state.value), str(target.value)), []).append(kind)
    lines = ["stateDiagram-v2"]
    for (src, dst), kinds in sorted(edges.items()):
        lines.append(f"    {src} --> {dst}: {', '.join(sorted(kinds))}")
    return "\n".join(lines)


def call_diagram() -> str:
    return mermaid(call.TRANSITIONS)


def agent_diagram() -> str:
    return mermaid(agent.TRANSITIONS)


if __name__ == "__main__":
    print("```mermaid\n" + call_diagram() + "\n```\n\n```mermaid\n" + agent_diagram() + "\n```")
