"""Typed lines of the simulator's record (see :mod:`dialer.sim.record` for the writer).

One frozen dataclass per ``kind``. Every event has ``t`` (wall-clock epoch seconds) and
``run``: which process run of the file it belongs to (0 for lines before the first
``start``, then 1, 2...: each ``start`` line begins a run). :func:`parse_line` checks
every field's type and names the line of anything wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any


class RecordError(ValueError):
    """A record line that is not what the simulator writes."""


@dataclass(frozen=True, slots=True)
class Start:
    """A simulator process started (or an in-process simulator was started)."""

    t: float
    run: int
    pid: int
    host: str
    ami_port: int | None
    ari_host: str
    ari_port: int | None
    speed: float
    seed: int


@dataclass(frozen=True, slots=True)
class Stop:
    """A clean stop; the channels still up were lost."""

    t: float
    run: int
    lost_channels: int
    lost_bridges: int


@dataclass(frozen=True, slots=True)
class Restart:
    """An Asterisk restart (fault API): every channel and bridge was lost, no events."""

    t: float
    run: int
    lost_channels: int
    lost_bridges: int


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault-API call: ``drop_ami``/``drop_ari`` (count), ``stall`` (seconds),
    ``refuse`` (on), ``restart``."""

    t: float
    run: int
    name: str
    count: int | None
    seconds: float | None
    on: bool | None


@dataclass(frozen=True, slots=True)
class Originate:
    """An Originate (AMI) or POST /channels (ARI). Accepted ones were dialled; refused
    ones placed no call and say why (``reason``)."""

    t: float
    run: int
    id: str | None
    dial: str
    number: str | None
    via: str
    action_id: str | None
    attempt: str | None
    agent: bool
    outcome: str | None
    accepted: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    t: float
    run: int
    id: str
    number: str
    agent: bool


@dataclass(frozen=True, slots=True)
class Amd:
    """The verdict of the simulated AMD() on a call."""

    t: float
    run: int
    id: str
    number: str
    status: str
    cause: str


@dataclass(frozen=True, slots=True)
class BridgeCreate:
    t: float
    run: int
    bridge: str
    type: str


@dataclass(frozen=True, slots=True)
class BridgeDestroy:
    t: float
    run: int
    bridge: str
    peak: int


@dataclass(frozen=True, slots=True)
class _BridgeMove:
    """A channel moved in or out of a bridge; ``count``: its channels after the move."""

    t: float
    run: int
    bridge: str
    id: str
    number: str | None
    role: str
    count: int


@dataclass(frozen=True, slots=True)
class BridgeEnter(_BridgeMove):
    """A channel entered a bridge."""


@dataclass(frozen=True, slots=True)
class BridgeLeave(_BridgeMove):
    """A channel left a bridge."""


@dataclass(frozen=True, slots=True)
class Play:
    """A playback started: ``target`` is ``channel:<id>`` or ``bridge:<id>``,
    ``heard_by`` the channels that hear it."""

    t: float
    run: int
    target: str
    media: tuple[str, ...]
    playback: str | None
    via: str
    heard_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dtmf:
    """Keys the far end of a call pressed."""

    t: float
    run: int
    id: str
    number: str
    digits: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """A dialled call is over (both halves gone)."""

    t: float
    run: int
    id: str
    number: str
    role: str
    cause: int


Event = (Start | Stop | Restart | Fault | Originate | Answer | Amd | BridgeCreate
         | BridgeDestroy | BridgeEnter | BridgeLeave | Play | Dtmf | Hangup)
KINDS: dict[str, type[Event]] = {
    "start": Start, "stop": Stop, "restart": Restart, "fault": Fault,
    "originate": Originate, "answer": Answer, "amd": Amd, "bridge_create": BridgeCreate,
    "bridge_destroy": BridgeDestroy, "bridge_enter": BridgeEnter,
    "bridge_leave": BridgeLeave, "play": Play, "dtmf": Dtmf, "hangup": Hangup,
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_float(v: Any) -> bool:
    return _is_int(v) or isinstance(v, float)


def _is_strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


_CHECKS = {"str": lambda v: isinstance(v, str), "int": _is_int, "float": _is_float,
           "bool": lambda v: isinstance(v, bool), "tuple[str, ...]": _is_strs}


def parse_line(line: str, run: int, where: str) -> Event:
    """One line of the record as its typed event; ``where`` names it in errors."""
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise RecordError(f"{where}: not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a JSON object, got {line[:60]!r}")
    cls = KINDS.get(raw.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise RecordError(f"{where}: unknown kind {raw.get('kind')!r}")
    raw["run"] = run
    return cls(**{f.name: _field(raw, f.name, str(f.type), where) for f in fields(cls)})


def _field(raw: dict[str, Any], name: str, kind: str, where: str) -> Any:
    optional = kind.endswith(" | None")
    base = kind.removesuffix(" | None")
    value = raw.get(name)
    if value is None:
        if optional:
            return None
        raise RecordError(f"{where}: {raw['kind']} lacks {name!r}")
    if not _CHECKS[base](value):
        raise RecordError(f"{where}: {raw['kind']} field {name!r} should be {base}, "
                          f"got {value!r}")
    if base == "float":
        return float(value)
    return tuple(value) if base == "tuple[str, ...]" else value
