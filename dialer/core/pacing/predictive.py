"""The self-tuning predictive pacer.

At each decision it forecasts, at K checkpoints c_1 < ... < c_K over a horizon learned
from the campaign's own ring times (the 99th percentile of dial-to-live-answer time):

* demand A(c): live answers by c, from the calls waiting now, the calls in AMD
  (conditioned on time in AMD) and the calls ringing (conditioned on ring time so far);
* supply F(c): agents free by c + the 2 s answer window, from the ready agents and the
  busy ones (conditioned on time already talking, plus the learned wrap-up; or on time
  in wrap-up).

Each call and agent is a Bernoulli trial with its learned probability, so D = A - F has
a known mean and variance at each checkpoint (normal approximation). A live answer
arriving just before c_k finds no agent when D(c_k) >= 1. The pacer places the largest
number n of new calls such that:

* at every checkpoint a new call can reach, P(D(c_k) + n new answers >= 1) stays within
  the loss chance ``rate`` (later decisions can only add answers there, never remove
  them, so each checkpoint is held to the rate when it is still ahead);
* the expected abandons of the horizon stay within what the ledger allows outright
  (limit x live answers so far and in the horizon, minus abandons so far).

``rate`` comes from :class:`LedgerControl`, a proportional-integral controller on the
headroom of the day's ledger (or of the regulatory one, when smaller), so headroom
banked over weeks is not spent in one burst. It falls back to progressive while the
estimates have too few samples (cold start) and when the calls already in flight could
use up what the ledger allows (the ceiling). It never places fewer calls than
progressive would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dialer.core.pacing.estimates import Estimates, Row, Table
from dialer.core.pacing.simple import decided, progressive_calls
from dialer.core.pacing.snapshot import Decision, Snapshot, dial_level

_REACH = 0.02


@dataclass(frozen=True, slots=True)
class PredictiveSettings:
    """The campaign's limit and the pacer's fixed statistical choices (not per campaign)."""

    limit: float = 0.03
    min_attempts: int = 100
    min_live: int = 20
    min_talks: int = 20
    spend_s: float = 300.0
    integral_s: float = 900.0
    max_calls: int = 1000


@dataclass(frozen=True, slots=True)
class Forecast:
    """Demand and supply at each checkpoint, without new calls, and one new call's share.

    arrivals[k]: expected live answers by checkpoint k; mean[k], var[k]: of demand minus
    supply at k; new[k], new_var[k]: one new call's chance to be a live answer by k.
    """

    arrivals: tuple[float, ...]
    mean: tuple[float, ...]
    var: tuple[float, ...]
    new: tuple[float, ...]
    new_var: tuple[float, ...]
    supply: float

    def excess(self, n: int) -> float:
        """Expected abandons among the live answers of the horizon if ``n`` calls are
        placed now: each answer arriving in (c_{k-1}, c_k] is lost when the answers before
        it already outnumber the agents free by c_k + window, P(D_k >= 1)."""
        total, before, before_new = 0.0, 0.0, 0.0
        for a, m, v, g, gv in zip(self.arrivals, self.mean, self.var, self.new, self.new_var,
                                  strict=True):
            step = a - before + n * (g - before_new)
            before, before_new = a, g
            if step > 0.0:
                total += step * _above(m + n * g - 0.5, v + n * gv)
        return total

    def live_with(self, n: int) -> float:
        return self.arrivals[-1] + n * self.new[-1]

    def risk(self, n: int) -> float:
        """The highest chance that a live answer finds no agent, over the checkpoints a
        new call can reach (later calls cannot lower it: they only add answers there)."""
        reach = _REACH * self.new[-1]
        return max((_above(m + n * g - 0.5, v + n * gv) for m, v, g, gv in
                    zip(self.mean, self.var, self.new, self.new_var, strict=True)
                    if g > reach), default=0.0)


def _above(mu: float, var: float) -> float:
    """P(X > 0) for X normal with mean ``mu`` and variance ``var``."""
    if var <= 1e-12:
        return 1.0 if mu > 0.0 else 0.0
    return 0.5 * (1.0 + math.erf(mu / math.sqrt(2.0 * var)))


def _rows(rows: Table, since: Sequence[float], now: float, inv_bin: float) -> list[Row]:
    """The table row of each call or agent, by the time since ``since``."""
    if not rows or not since:
        return []
    last = len(rows) - 1
    tail = rows[last]
    return [rows[i] if (i := int((now - t) * inv_bin)) < last else tail for t in since]


def _sums(rows: list[Row], width: int) -> list[float]:
    return [sum(col) for col in zip(*rows, strict=True)] if rows else [0.0] * width


def forecast(s: Snapshot) -> Forecast:
    """Demand and supply over the learned horizon for this snapshot."""
    e: Estimates = s.estimates
    k = e.width
    ring_inv, talk_inv = 1.0 / e.ring_bin, 1.0 / e.talk_bin
    demand = _sums(_rows(e.ring_rows, s.ringing, s.now, ring_inv)
                   + _rows(e.screen_rows, s.screening, s.now, ring_inv), 2 * k)
    supply = _sums(_rows(e.talk_rows, s.talking, s.now, talk_inv)
                   + _rows(e.wrap_rows, s.wrapping, s.now, ring_inv), 2 * k)
    ready, waiting = len(s.ready), s.waiting
    arrivals = [waiting + demand[i] for i in range(k)]
    new = e.ring_rows[0]
    return Forecast(
        arrivals=tuple(arrivals),
        mean=tuple(arrivals[i] - ready - supply[i] for i in range(k)),
        var=tuple(demand[k + i] + supply[k + i] for i in range(k)),
        new=new[:k], new_var=new[k:], supply=ready + supply[k - 1])


def _largest(fits: Callable[[int], bool], cap: int) -> int:
    """The largest n in [0, cap] with fits(n), for fits true up to some n and false after
    (0 when fits(0) is false)."""
    if not fits(0):
        return 0
    low, high = 0, 1
    while high <= cap and fits(high):
        low, high = high, high * 2
    high = min(high, cap + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


@dataclass(slots=True)
class LedgerControl:
    """Turns the ledger's headroom into the loss chance to plan for.

    Proportional-integral control on the headroom (abandons the limit still allows),
    measured against a reserve: rate = limit * u * 2^(e / h0), e = headroom - reserve,
    h0 = the abandons the limit allows over ``spend_s`` at the current live-answer rate,
    and log2(u) integrates e / h0 over ``integral_s`` while the pacer is predictive. The
    integral absorbs the forecast's own bias (how far realized losses run above or below
    the planned chance), so the ledger settles at the reserve whatever the campaign.
    The reserve is three standard deviations of the abandons expected over ``integral_s``,
    plus one: the swing the controller cannot react to in time.
    """

    spend_s: float
    integral_s: float
    log_u: float = 0.0
    _at: float | None = None

    def rate(self, limit: float, headroom: float, live_rate: float) -> float:
        exponent = min(2.0, max(-6.0, self.error(limit, headroom, live_rate)))
        return float(limit * 2.0 ** (self.log_u + exponent))

    def error(self, limit: float, headroom: float, live_rate: float) -> float:
        reserve = 3.0 * math.sqrt(limit * live_rate * self.integral_s) + 1.0
        scale = max(1.0, limit * live_rate * self.spend_s)
        return (headroom - reserve) / scale

    def integrate(self, now: float, error: float | None) -> None:
        """Advance to ``now``; ``error`` is None while the pacer is not predictive."""
        dt = 0.0 if self._at is None else max(0.0, now - self._at)
        self._at = now
        if error is not None:
            step = min(2.0, max(-2.0, error)) * dt / self.integral_s
            self.log_u = min(3.0, max(-6.0, self.log_u + step))


@dataclass(slots=True)
class Predictive:
    """Self-tuning predictive pacer; see the module docstring."""

    settings: PredictiveSettings = field(default_factory=PredictiveSettings)
    name: str = "predictive"
    agent_initiated: bool = False
    control: LedgerControl = field(init=False)

    def __post_init__(self) -> None:
        self.control = LedgerControl(self.settings.spend_s, self.settings.integral_s)

    def decide(self, s: Snapshot) -> Decision:
        cfg = self.settings
        if s.staffed == 0:
            self.control.integrate(s.now, None)
            return decided(s, 0, "no_agents", cfg.limit)
        if self._cold(s.estimates):
            self.control.integrate(s.now, None)
            return decided(s, progressive_calls(s), "cold_start", cfg.limit)
        fc = forecast(s)
        headroom = s.ledger.headroom(cfg.limit)
        committed = fc.excess(0)
        if headroom + cfg.limit * fc.live_with(0) - committed - math.sqrt(committed) <= 0.0:
            self.control.integrate(s.now, None)
            return self._result(s, fc, progressive_calls(s), "ceiling", headroom)
        live_rate = s.estimates.live_rate
        steer = min(headroom, s.today.headroom(cfg.limit)) if s.today.live else headroom
        self.control.integrate(s.now, self.control.error(cfg.limit, steer, live_rate))
        calls = self._search(fc, self.control.rate(cfg.limit, steer, live_rate), headroom)
        return self._result(s, fc, max(calls, progressive_calls(s)), "predictive", headroom)

    def _cold(self, e: Estimates) -> bool:
        cfg = self.settings
        return (not e.checkpoints or e.attempts < cfg.min_attempts or e.live < cfg.min_live
                or e.talks < cfg.min_talks)

    def _search(self, fc: Forecast, rate: float, headroom: float) -> int:
        """The largest n whose loss chance fits the rate and whose expected abandons fit
        what the ledger allows."""
        limit = self.settings.limit

        def fits(n: int) -> bool:
            return fc.risk(n) <= rate

        def allowed(n: int) -> bool:
            return fc.excess(n) <= headroom + limit * fc.live_with(n)

        calls = _largest(fits, self.settings.max_calls)
        if calls > 0 and not allowed(calls):
            calls = _largest(lambda n: n <= calls and allowed(n), calls)
        return calls

    def _result(self, s: Snapshot, fc: Forecast, calls: int, mode: str,
                headroom: float) -> Decision:
        return Decision(calls=calls, mode=mode, dial_level=dial_level(s, calls),
                        expected_live=fc.live_with(calls), available_agents=fc.supply,
                        headroom=headroom, expected_abandons=fc.excess(calls))
