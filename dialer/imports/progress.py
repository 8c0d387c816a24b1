"""A progress bar for imports (rows, rows/s, ETA) on a terminal, silent otherwise,
and the summary every import prints at the end."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total_bytes: int, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.label = label
        self.total = max(total_bytes, 1)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._last = 0.0
        self.rows = 0

    def update(self, rows: int, bytes_done: int) -> None:
        self.rows = rows
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        self.stream.write("\r" + self.render(rows, bytes_done, now))
        self.stream.flush()

    def render(self, rows: int, bytes_done: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        frac = min(bytes_done / self.total, 1.0)
        rate = rows / elapsed
        eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        return (f"{self.label} [{bar:<30}] {frac:6.1%} {rows:,} rows "
                f"{rate:,.0f} rows/s ETA {eta:4.0f}s")

    def finish(self) -> float:
        """End the bar line; returns the elapsed seconds."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
        return time.monotonic() - self.started
