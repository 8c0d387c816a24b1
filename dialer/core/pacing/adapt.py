"""A baseline that reproduces VICIdial's ADAPT_TAPERED controller, for comparison only.

Facts taken from its behaviour, in order:

* every second it records ready agents R and waiting calls W;
* every 15 s it averages R - W over the last 15 samples into ``diff`` and computes
  m = (diff + target) / average agents;
* intensity I: m *= 1 + I/100 when m > 0, m *= |I/100 - 1| when m < 0;
* level <- level * (1 + m), clamped to [1.0, max_level];
* more than 20 calls in the last minute with over half dropped halves the level;
* once the day's drop rate is over the limit (after more than 50 calls), the level is
  reduced;
* it dials level * (ready + in-call agents) - (ringing + live calls).

Values we had to pick (documented in docs/pacing.md): intensity 0, diff target 0,
max level 3.0, start level 1.0; "agents" are ready plus talking (wrap-up excluded);
"calls" in the drop checks are live answers; "live calls" are answered calls
until they hang up, those talking with an agent included (VICIdial keeps a call in its
table of active lines until hangup, so level 1.0 is one line per agent); the tapered
reduction moves the level toward 1.0 at each 15 s adjustment, by half at the start of
the shift and all the way at its end: level <- 1 + (level - 1) * (1 - f) / 2, f the
elapsed fraction of the shift (lenient early in the day, strict at its end).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from dialer.core.pacing.simple import decided
from dialer.core.pacing.snapshot import Decision, Snapshot


@dataclass(frozen=True, slots=True)
class AdaptSettings:
    limit: float = 0.03
    max_level: float = 3.0
    intensity: float = 0.0
    diff_target: float = 0.0
    start_level: float = 1.0
    sample_s: float = 1.0
    adjust_s: float = 15.0


@dataclass(slots=True)
class AdaptTapered:
    """Stateful (it keeps its level and samples), but pure: time comes from snapshots."""

    settings: AdaptSettings = field(default_factory=AdaptSettings)
    name: str = "adapt_tapered"
    agent_initiated: bool = False
    level: float = 1.0
    _samples: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=15))
    _next_sample: float | None = None
    _next_adjust: float | None = None

    def __post_init__(self) -> None:
        self.level = self.settings.start_level

    def decide(self, snapshot: Snapshot) -> Decision:
        self._tick(snapshot)
        agents = len(snapshot.ready) + len(snapshot.talking)
        goal = int(self.level * agents + 0.5)
        calls = max(0, goal - snapshot.in_flight - len(snapshot.talking))
        return decided(snapshot, calls, "adapt_tapered", self.settings.limit)

    def _tick(self, s: Snapshot) -> None:
        if self._next_sample is None:
            self._next_sample, self._next_adjust = s.now, s.now + self.settings.adjust_s
        while self._next_sample <= s.now:
            agents = len(s.ready) + len(s.talking)
            self._samples.append((len(s.ready) - s.waiting, agents))
            self._next_sample += self.settings.sample_s
        assert self._next_adjust is not None
        while self._next_adjust <= s.now:
            self._adjust(s)
            self._next_adjust += self.settings.adjust_s

    def _adjust(self, s: Snapshot) -> None:
        cfg = self.settings
        if self._samples:
            diff = sum(d for d, _ in self._samples) / len(self._samples)
            agents = sum(a for _, a in self._samples) / len(self._samples)
            if agents > 0:
                self.level = self._clamp(self.level * (1.0 + self._m(diff, agents)))
        minute = s.last_minute
        if minute.live > 20 and minute.abandoned > minute.live / 2:
            self.level = self._clamp(self.level / 2.0)
        if s.today.live > 50 and s.today.rate > cfg.limit:
            keep = 0.5 * (1.0 - min(1.0, s.shift_fraction))
            self.level = self._clamp(1.0 + (self.level - 1.0) * keep)

    def _m(self, diff: float, agents: float) -> float:
        m = (diff + self.settings.diff_target) / agents
        i = self.settings.intensity / 100.0
        if m > 0:
            return m * (1.0 + i)
        return m * abs(i - 1.0) if m < 0 else m

    def _clamp(self, level: float) -> float:
        return min(max(level, 1.0), self.settings.max_level)
