"""When a lead is dialled again: pure decisions from an attempt's outcome or a block.

``decide_retry`` reads the campaign's retry rules (any object with the delay attributes of
:class:`dialer.campaigns.RetryRules`, in seconds). ``defer_blocked`` handles a number the
compliance filter refused at the instant of dialing: a lasting reason ends the lead, a
passing one puts it back later without counting an attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

Status = Literal["done", "retry", "deferred"]

# Outcomes after which the lead is never dialled again.
FINAL_OUTCOMES = frozenset({"human", "optout", "broadcast", "blocked"})
# Outcomes retried after the rule of the same name.
DELAYED_OUTCOMES = frozenset({"busy", "no_answer", "congestion", "failed", "machine",
                              "answer_hangup", "abandoned", "lost"})
# Compliance reasons that pass with time, and how long to wait before trying again.
TEMPORARY_BLOCKS: dict[str, timedelta] = {
    "filter_unavailable": timedelta(minutes=1),
    "dnc_data_stale": timedelta(minutes=30),
    "outside_calling_hours": timedelta(minutes=30),
    "holiday": timedelta(hours=6),
    "frequency_cap": timedelta(hours=1),
    "abandon_cooldown": timedelta(hours=1),
    "campaign_abandon_limit": timedelta(minutes=15),
}


class RetryDelays(Protocol):
    """The campaign's retry rules: seconds per outcome, and the attempts allowed."""

    @property
    def busy(self) -> float: ...
    @property
    def no_answer(self) -> float: ...
    @property
    def congestion(self) -> float: ...
    @property
    def failed(self) -> float: ...
    @property
    def machine(self) -> float: ...
    @property
    def answer_hangup(self) -> float: ...
    @property
    def abandoned(self) -> float: ...
    @property
    def lost(self) -> float: ...
    @property
    def max_attempts(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What happens to the lead next.

    ``done``: never again. ``retry``: dial again at ``next_attempt_at``. ``deferred``: dial
    again at ``next_attempt_at`` in the status it had before it was leased (a callback stays
    a callback). ``counts`` says whether this attempt adds to the lead's attempts.
    """

    status: Status
    next_attempt_at: datetime | None
    counts: bool = True

    def __post_init__(self) -> None:
        if (self.status == "done") != (self.next_attempt_at is None):
            raise ValueError(f"RetryDecision {self.status!r} needs next_attempt_at "
                             f"{'None' if self.status == 'done' else 'set'}")


DONE = RetryDecision("done", None)


def decide_retry(outcome: str, attempts_so_far: int, rules: RetryDelays,
                 now: datetime) -> RetryDecision:
    """The decision after one attempt; ``attempts_so_far`` excludes this attempt."""
    if outcome == "canceled":
        return RetryDecision("deferred", now, counts=False)
    if outcome in FINAL_OUTCOMES:
        return DONE
    if outcome not in DELAYED_OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}; expected one of "
                         f"{sorted(FINAL_OUTCOMES | DELAYED_OUTCOMES | {'canceled'})}")
    if attempts_so_far < 0:
        raise ValueError(f"attempts_so_far must be >= 0, got {attempts_so_far}")
    if attempts_so_far + 1 >= rules.max_attempts:
        return DONE
    delay = float(getattr(rules, outcome))
    return RetryDecision("retry", now + timedelta(seconds=delay))


def is_temporary(reasons: Iterable[str]) -> bool:
    """True when every reason passes with time (and there is at least one)."""
    found = list(reasons)
    return bool(found) and all(r in TEMPORARY_BLOCKS for r in found)


def defer_blocked(reasons: Iterable[str], now: datetime, *,
                  resume_at: datetime | None = None) -> RetryDecision:
    """The decision for a lead the compliance filter blocked; no attempt is counted.

    ``resume_at`` (for example when the calling window opens) is used when it is later
    than the default wait of the slowest reason.
    """
    found = tuple(reasons)
    if not found:
        raise ValueError("defer_blocked needs at least one block reason")
    if not is_temporary(found):
        return RetryDecision("done", None, counts=False)
    later = now + max(TEMPORARY_BLOCKS[r] for r in found)
    if resume_at is not None and resume_at > later:
        later = resume_at
    return RetryDecision("deferred", later, counts=False)
