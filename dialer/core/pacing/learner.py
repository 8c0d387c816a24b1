"""Online estimators that learn from the campaign's own calls.

The engine (or the simulation) reports each observation as it happens, with the time;
:meth:`Learner.estimates` returns frozen tables, rebuilt at most every ``rebuild_s``
seconds. Samples live in sliding windows so that the estimates follow changes during the
shift (a list whose contact rate falls at hour 3, say): the newest samples are kept, and
samples older than the window are dropped while enough newer ones remain.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from dialer.core.pacing.estimates import Estimates, conditional_table

INF = math.inf


@dataclass(frozen=True, slots=True)
class LearnerSettings:
    """Window sizes and table shape. Defaults suit any campaign; none is a tuning knob."""

    attempts_window_s: float = 900.0
    min_attempts: int = 400
    agents_window_s: float = 3600.0
    min_talks: int = 200
    max_talks: int = 1000
    rebuild_s: float = 60.0
    answer_window_s: float = 2.0
    checkpoints: int = 8
    horizon_quantile: float = 0.99
    rate_window_s: float = 300.0


class _Window:
    """Timestamped samples: keep at least ``keep``, drop older than ``age_s`` beyond that."""

    def __init__(self, age_s: float, keep: int, cap: int = 1_000_000) -> None:
        self.items: deque[tuple[float, float, float]] = deque()
        self._age, self._keep, self._cap = age_s, keep, cap

    def add(self, now: float, a: float, b: float = 0.0) -> None:
        self.items.append((now, a, b))
        if len(self.items) > self._cap:
            self.items.popleft()

    def prune(self, now: float) -> None:
        items = self.items
        while len(items) > self._keep and items[0][0] < now - self._age:
            items.popleft()

    def pairs(self) -> list[tuple[float, float]]:
        return [(a, b) for _, a, b in self.items]


class Learner:
    """Learns ring-to-answer times, AMD verdicts, talk and wrap-up times online."""

    def __init__(self, settings: LearnerSettings | None = None) -> None:
        s = self.settings = settings or LearnerSettings()
        self._attempts = _Window(s.attempts_window_s, s.min_attempts)
        self._screens = _Window(s.attempts_window_s, s.min_attempts)
        self._talks = _Window(s.agents_window_s, s.min_talks, s.max_talks)
        self._wraps = _Window(s.agents_window_s, s.min_talks, s.max_talks)
        self._lives: deque[float] = deque()
        self._first_at: float | None = None
        self._built_at = -INF
        self._counts = (0, 0, 0)
        self._estimates = Estimates()

    def attempt(self, now: float, exit_s: float, live_s: float | None = None) -> None:
        """An attempt is resolved: it stopped ringing after ``exit_s`` and, if it became a
        live answer (AMD said human), did so ``live_s`` after dialling."""
        self._first_seen(now)
        self._attempts.add(now, exit_s, INF if live_s is None else live_s)
        if live_s is not None:
            self._lives.append(now)

    def screened(self, now: float, amd_s: float, human: bool) -> None:
        """AMD gave its verdict ``amd_s`` after the answer."""
        self._screens.add(now, amd_s, amd_s if human else INF)

    def talked(self, now: float, talk_s: float) -> None:
        self._talks.add(now, talk_s)

    def wrapped(self, now: float, wrapup_s: float) -> None:
        self._wraps.add(now, wrapup_s)

    def _first_seen(self, now: float) -> None:
        if self._first_at is None:
            self._first_at = now

    def estimates(self, now: float) -> Estimates:
        """The current tables; rebuilt when ``rebuild_s`` has passed, or sooner while
        the sample counts are still doubling (so the cold start ends promptly)."""
        counts = (len(self._attempts.items), len(self._talks.items), len(self._wraps.items))
        grown = any(c >= 2 * max(old, 10) for c, old in zip(counts, self._counts, strict=True))
        if now - self._built_at >= self.settings.rebuild_s or grown:
            self._estimates = self._build(now)
            self._built_at, self._counts = now, counts
        return self._estimates

    def _build(self, now: float) -> Estimates:
        for window in (self._attempts, self._screens, self._talks, self._wraps):
            window.prune(now)
        attempts = self._attempts.pairs()
        if not attempts:
            return Estimates()
        checkpoints = self._checkpoints(attempts)
        return self._tables(now, attempts, checkpoints)

    def _checkpoints(self, attempts: list[tuple[float, float]]) -> tuple[float, ...]:
        lives = sorted(live for _, live in attempts if live < INF)
        s = self.settings
        horizon = lives[min(len(lives) - 1, int(s.horizon_quantile * len(lives)))] if lives \
            else max(exit_s for exit_s, _ in attempts)
        horizon = max(horizon, 1.0)
        return tuple(horizon * (k + 1) / s.checkpoints for k in range(s.checkpoints))

    def _tables(self, now: float, attempts: list[tuple[float, float]],
                checkpoints: tuple[float, ...]) -> Estimates:
        base = Estimates()
        talks = [t for t, _ in self._talks.pairs()]
        wraps = [w for w, _ in self._wraps.pairs()]
        mean_wrap = sum(wraps) / len(wraps) if wraps else 0.0
        agent_offsets = [c + self.settings.answer_window_s for c in checkpoints]
        live_n = sum(1 for _, live in attempts if live < INF)
        return Estimates(
            attempts=len(attempts), live=live_n, talks=len(talks), checkpoints=checkpoints,
            ring_rows=_table(attempts, base.ring_bin, checkpoints, hold=False),
            screen_rows=_table(self._screens.pairs(), base.ring_bin, checkpoints, hold=False),
            talk_rows=_table([(t, t + mean_wrap) for t in talks], base.talk_bin,
                             agent_offsets, hold=True),
            wrap_rows=_table([(w, w) for w in wraps], base.ring_bin, agent_offsets, hold=True),
            live_rate=self._live_rate(now), live_share=live_n / len(attempts),
            human_share=self._human_share(),
            mean_talk_s=sum(talks) / len(talks) if talks else 0.0, mean_wrapup_s=mean_wrap)

    def _live_rate(self, now: float) -> float:
        span = self.settings.rate_window_s
        while self._lives and self._lives[0] < now - span:
            self._lives.popleft()
        seen = now - (self._first_at if self._first_at is not None else now)
        return len(self._lives) / max(min(span, seen), 1.0)

    def _human_share(self) -> float:
        screens = self._screens.items
        return sum(1 for _, _, h in screens if h < INF) / len(screens) if screens else 0.0


def _table(samples: list[tuple[float, float]], bin_s: float, offsets: list[float] | tuple[
        float, ...], *, hold: bool) -> tuple[tuple[float, ...], ...]:
    if not samples:
        return ()
    n_bins = min(int(max(e for e, _ in samples) / bin_s) + 2, 2000)
    return conditional_table(samples, bin_s, n_bins, offsets, hold_tail=hold)
