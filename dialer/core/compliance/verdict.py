"""Verdicts: whether a number may be dialled now, and every rule that says no."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Stable reason codes, in the order a verdict lists them.
REASONS: tuple[str, ...] = (
    "filter_unavailable",
    "invalid_number",
    "dnc_internal",
    "dnc_campaign",
    "litigator",
    "dnc_national",
    "dnc_state",
    "dnc_data_stale",
    "no_consent",
    "consent_revoked",
    "consent_expired",
    "outside_calling_hours",
    "holiday",
    "frequency_cap",
    "abandon_cooldown",
    "campaign_abandon_limit",
)


@dataclass(frozen=True, slots=True)
class Detail:
    """Why one rule blocks: its reason code, a sentence, and the list or rule it used."""

    reason: str
    message: str
    ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.ref is not None:
            out["ref"] = self.ref
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """``allowed`` is true only when ``reasons`` is empty."""

    allowed: bool
    reasons: tuple[str, ...]
    details: tuple[Detail, ...]

    @classmethod
    def of(cls, details: tuple[Detail, ...]) -> Verdict:
        order = {code: i for i, code in enumerate(REASONS)}
        ranked = tuple(sorted(details, key=lambda d: order[d.reason]))
        reasons = tuple(dict.fromkeys(d.reason for d in ranked))
        return cls(not reasons, reasons, ranked)

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "details": [d.to_json() for d in self.details],
        }


ALLOWED = Verdict(True, (), ())
UNAVAILABLE = Verdict.of((Detail("filter_unavailable", "the compliance filter is not ready"),))
