"""Pacers: how many calls to place now.

Every pacer has ``decide(snapshot) -> Decision``; time comes from the snapshot. The
engine calls the campaign's pacer on every relevant event and at least every 250 ms,
and exports the decision's figures as metrics. :class:`Learner` turns observed calls
into the :class:`Estimates` a snapshot carries.
"""

from __future__ import annotations

from typing import Protocol

from dialer.core.errors import ConfigError
from dialer.core.pacing.adapt import AdaptSettings, AdaptTapered
from dialer.core.pacing.estimates import Estimates
from dialer.core.pacing.learner import Learner, LearnerSettings
from dialer.core.pacing.predictive import Predictive, PredictiveSettings
from dialer.core.pacing.simple import Power, Preview, Progressive
from dialer.core.pacing.snapshot import Decision, Ledger, Snapshot


class Pacer(Protocol):
    name: str
    agent_initiated: bool

    def decide(self, snapshot: Snapshot) -> Decision: ...


PACERS = ("preview", "progressive", "power", "predictive", "adapt_tapered")


def make_pacer(name: str, *, limit: float = 0.03, power_ratio: float = 2.0) -> Pacer:
    """A fresh pacer by name (pacers that keep state must not be shared by campaigns)."""
    if name == "preview":
        return Preview(limit=limit)
    if name == "progressive":
        return Progressive(limit=limit)
    if name == "power":
        return Power(ratio=power_ratio, limit=limit)
    if name == "predictive":
        return Predictive(PredictiveSettings(limit=limit))
    if name == "adapt_tapered":
        return AdaptTapered(AdaptSettings(limit=limit))
    raise ConfigError("pacer", f"unknown pacer {name!r}; expected one of {', '.join(PACERS)}")


__all__ = [
    "PACERS",
    "AdaptSettings",
    "AdaptTapered",
    "Decision",
    "Estimates",
    "Learner",
    "LearnerSettings",
    "Ledger",
    "Pacer",
    "Power",
    "Predictive",
    "PredictiveSettings",
    "Preview",
    "Progressive",
    "Snapshot",
    "make_pacer",
]
