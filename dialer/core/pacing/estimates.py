"""Learned estimates as lookup tables, built from observed samples.

The predictive pacer asks, many times a second, "what is the chance that this call,
ringing for ``a`` seconds, becomes a live answer within ``c`` seconds?" and "that this
agent, talking for ``t`` seconds, is free within ``c`` seconds?". Both are conditional
probabilities of the form P(event <= a + c | exit > a), read from empirical samples.
:func:`conditional_table` tabulates them once per rebuild, on a grid of ages and a few
horizon checkpoints, so a decision is a table lookup per call and per agent.

A row holds the K probabilities followed by their K Bernoulli variances p(1 - p), so
that summing rows column-wise gives both the mean and the variance of the count.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

Row = tuple[float, ...]
Table = tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Estimates:
    """Everything the pacers learn, frozen at one rebuild.

    checkpoints: horizon points (s after now) at which demand meets supply.
    ring_rows[i]: a call ringing for i * ring_bin s becomes live by each checkpoint.
    screen_rows[i]: a call i * ring_bin s into AMD is judged human by each checkpoint.
    talk_rows[i]: an agent talking for i * talk_bin s is free by checkpoint + window.
    wrap_rows[i]: an agent i * ring_bin s into wrap-up is free by checkpoint + window.
    """

    attempts: int = 0
    live: int = 0
    talks: int = 0
    checkpoints: tuple[float, ...] = ()
    ring_bin: float = 0.5
    ring_rows: Table = ()
    screen_rows: Table = ()
    talk_bin: float = 2.0
    talk_rows: Table = ()
    wrap_rows: Table = ()
    live_rate: float = 0.0
    live_share: float = 0.0
    human_share: float = 0.0
    mean_talk_s: float = 0.0
    mean_wrapup_s: float = 0.0

    @property
    def width(self) -> int:
        return len(self.checkpoints)

    def answer_probability(self, ring_s: float, within_s: float) -> float:
        """P(live answer within ``within_s`` | still ringing after ``ring_s``)."""
        return _lookup(self.ring_rows, ring_s / self.ring_bin, self.checkpoints, within_s)

    def free_probability(self, talk_s: float, within_s: float) -> float:
        """P(an agent talking for ``talk_s`` is free within ``within_s`` + the window)."""
        return _lookup(self.talk_rows, talk_s / self.talk_bin, self.checkpoints, within_s)


def _lookup(rows: Table, index: float, checkpoints: tuple[float, ...], within: float) -> float:
    if not rows:
        return 0.0
    row = rows[min(int(index), len(rows) - 1)]
    k = bisect.bisect_right(checkpoints, within + 1e-9) - 1
    return row[k] if k >= 0 else 0.0


def conditional_table(samples: Sequence[tuple[float, float]], bin_s: float, n_bins: int,
                      offsets: Sequence[float], *, hold_tail: bool) -> Table:
    """Rows i = 0..n_bins-1 of P(event <= i*bin_s + o | exit > i*bin_s) for each offset o.

    ``samples`` are (exit, event) pairs; event may be ``inf`` (never happens). Where no
    sample has ``exit > a``, the row is zeros, or with ``hold_tail`` the last row that
    had at least ``_MIN_ALIVE`` samples (an agent who talks longer than anyone seen
    still comes free eventually).
    """
    ordered = sorted(samples, reverse=True)
    events: list[float] = []
    rows: list[Row] = [()] * n_bins
    alive_counts = [0] * n_bins
    j = 0
    for i in range(n_bins - 1, -1, -1):
        age = i * bin_s
        while j < len(ordered) and ordered[j][0] > age:
            bisect.insort(events, ordered[j][1])
            j += 1
        alive_counts[i] = len(events)
        rows[i] = _row(events, age, offsets)
    return _fill_tail(rows, alive_counts, len(offsets), hold_tail)


_MIN_ALIVE = 20


def _row(events: list[float], age: float, offsets: Sequence[float]) -> Row:
    n = len(events)
    if not n:
        return ()
    probs = [bisect.bisect_right(events, age + o) / n for o in offsets]
    return (*probs, *(p * (1.0 - p) for p in probs))


def _fill_tail(rows: list[Row], alive: list[int], width: int, hold: bool) -> Table:
    zero: Row = (0.0,) * (2 * width)
    last = zero
    out: list[Row] = []
    for row, count in zip(rows, alive, strict=True):
        if row and (count >= _MIN_ALIVE or not hold or last is zero):
            last = row
            out.append(row)
        else:
            out.append(last if hold else zero)
    return tuple(out)
