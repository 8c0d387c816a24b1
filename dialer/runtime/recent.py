"""Counts over the last few minutes (outcomes, compliance blocks) for the wallboard."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable

from dialer.core import commands as c

ALL = "*"


class Recent:
    """Keys counted per group over a sliding window of ``window`` seconds."""

    def __init__(self, now: Callable[[], float], window: float = 900.0) -> None:
        self._now, self.window = now, window
        self._items: deque[tuple[float, str, str]] = deque()

    def add(self, group: str, key: str) -> None:
        self._items.append((self._now(), group, key))

    def counts(self, group: str) -> dict[str, int]:
        cutoff = self._now() - self.window
        while self._items and self._items[0][0] < cutoff:
            self._items.popleft()
        return dict(Counter(k for _, g, k in self._items if g == group))

    def listener(self, event: object, cmds: list[c.Command]) -> None:
        """Count finished attempts by outcome, per campaign and over all campaigns."""
        for cmd in cmds:
            if isinstance(cmd, c.CallEnded):
                self.add(f"outcome:{cmd.campaign}", cmd.outcome)
                self.add(f"outcome:{ALL}", cmd.outcome)

    def block(self, reasons: tuple[str, ...]) -> None:
        for reason in reasons:
            self.add("block", reason)
