"""Reconnect delays and connection-state notices, shared by the AMI and ARI clients."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Connected:
    """The adapter is connected (and logged in); ``session`` counts from 1."""

    adapter: str
    session: int


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection was lost; every pending request has failed. ``reason`` is for logs."""

    adapter: str
    session: int
    reason: str


StateCallback = Callable[[Connected | Disconnected], None]


class Backoff:
    """Exponential backoff with jitter, never below ``initial`` nor above ``maximum``.

    ``delay()`` returns the next wait and advances; ``reset()`` after a good session.
    ``rng`` is injectable so tests are deterministic.
    """

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0,
                 jitter: float = 0.2, rng: random.Random | None = None) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"backoff: need 0 < initial <= maximum, got {initial}, {maximum}")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError(f"backoff: need factor >= 1 and 0 <= jitter < 1, "
                             f"got {factor}, {jitter}")
        self.initial, self.maximum = initial, maximum
        self.factor, self.jitter = factor, jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def delay(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        spread = base * self.jitter * (2 * self._rng.random() - 1)
        return min(self.maximum, max(self.initial, base + spread))

    def reset(self) -> None:
        self.attempts = 0


async def reconnect_forever(one_session: Callable[[], Awaitable[bool]], closing: asyncio.Event,
                            backoff: Backoff, on_wait: Callable[[float], None]) -> None:
    """Run sessions until ``closing`` is set, waiting ``backoff`` between them.

    ``one_session`` returns True when the session got far enough (logged in, subscribed)
    to count as good, which resets the backoff. The wait ends early on ``closing``.
    """
    while not closing.is_set():
        if await one_session():
            backoff.reset()
        if closing.is_set():
            return
        delay = backoff.delay()
        on_wait(delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing.wait(), delay)
