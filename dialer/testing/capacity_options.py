"""The options of the real-Asterisk capacity bench (:mod:`dialer.testing.capacity`),
light enough for the command line to import."""

from __future__ import annotations

from dataclasses import dataclass


class CapacityError(RuntimeError):
    """The bench cannot run; the message says what is missing and where."""


@dataclass(frozen=True)
class CapacityOptions:
    rates: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0, 120.0)
    step_s: float = 30.0
    via: str = "ami"
    ring_s: float = 2.0  # the carrier's SIM_RING
    talk_s: float = 60.0  # the carrier's SIM_TALK: people stay longer than the message
    message: str = "dialer/machine-message"
    ami: str | None = None  # HOST:PORT of a given Asterisk; None starts one
    ari: str | None = None  # its ARI base URL (http://host:8088)
    asterisk_pid: int | None = None  # a given Asterisk's PID, for its CPU
