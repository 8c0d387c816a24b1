"""How long the simulator's sound files play."""

from __future__ import annotations

import re


def sound_seconds(name: str) -> float | None:
    """Length of a sound file the simulator knows, None when it does not exist."""
    base = name.rsplit("/", 1)[-1]
    if base.startswith("no-such") or not base:
        return None
    m = re.search(r"(\d+)$", base)
    if base.startswith("silence") and m:
        return float(m.group(1))
    return 0.8 if base == "beep" else 2.0
