"""docs/engine.md shows the state diagrams generated from the transition tables."""

from __future__ import annotations

from pathlib import Path

from dialer.core.diagram import agent_diagram, call_diagram

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


def test_engine_doc_diagrams_match_the_transition_tables() -> None:
    text = DOC.read_text()
    assert f"```mermaid\n{call_diagram()}\n```" in text, "run python -m dialer.core.diagram"
    assert f"```mermaid\n{agent_diagram()}\n```" in text
