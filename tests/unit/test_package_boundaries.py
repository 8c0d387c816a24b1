"""Shipped code never imports the test suite: what both need (the throwaway Asterisk of
the real-Asterisk tier and of `dialer bench engine --real`) lives in `dialer.testing`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dialer"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_shipped_module_imports_the_tests() -> None:
    offenders = {str(p.relative_to(PACKAGE.parent)): sorted(m for m in imported_modules(p)
                                                           if m.split(".")[0] == "tests")
                 for p in PACKAGE.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
