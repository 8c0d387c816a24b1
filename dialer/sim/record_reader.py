"""Read the simulator's record back, for checkers that judge engines against it.

    record = load_record("sim-record.jsonl")     # every run appended to the file
    originates_per_number(record)                # {"5550100": 1, ...} customer calls
    for call in call_timelines(record): ...      # originate, answer, amd, connect, ...
    overfull_bridges(record)                     # bridges that ever held more than 2

A line that a ``kill -9`` tore (no valid JSON) is skipped when it is the last line of
the file or the last line of a run (the next line is a ``start``); its line number is
kept in :attr:`Record.torn`. Any other bad line is a :class:`RecordError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from dialer.sim.record_events import (
    Amd,
    Answer,
    BridgeCreate,
    BridgeDestroy,
    BridgeEnter,
    BridgeLeave,
    Dtmf,
    Event,
    Hangup,
    Originate,
    Play,
    RecordError,
    Restart,
    Start,
    Stop,
    parse_line,
)

__all__ = ["BridgeOccupancy", "CallTimeline", "Record", "RecordError", "bridge_peaks",
           "call_timelines", "load_record", "originates_per_number", "overfull_bridges",
           "parse_record"]


@dataclass(frozen=True)
class Record:
    """Every event of a record file, in file order."""

    events: tuple[Event, ...]
    runs: int  # process runs seen (the number of start lines)
    torn: tuple[int, ...]  # 1-based line numbers skipped as torn
    source: str = "<record>"


def load_record(path: str | Path) -> Record:
    """Read a record file (several process runs may be appended to it)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RecordError(f"cannot read the simulator record {p}: {exc}") from exc
    return parse_record(text, str(p))


def parse_record(text: str, source: str = "<record>") -> Record:
    """Parse record lines (a file's text, or what ``GET /_sim/record`` returned)."""
    lines = text.split("\n")
    events: list[Event] = []
    torn: list[int] = []
    run = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{source} line {i + 1}"
        try:
            event = parse_line(line, run, where)
        except RecordError:
            if not _torn_ok(lines, i):
                raise
            torn.append(i + 1)
            continue
        if isinstance(event, Start):
            run += 1
            event = replace(event, run=run)
        events.append(event)
    return Record(tuple(events), run, tuple(torn), source)


def _torn_ok(lines: list[str], i: int) -> bool:
    """A bad line may be a torn write: the last line, or the last of a run."""
    following = next((x for x in lines[i + 1:] if x.strip()), None)
    if following is None:
        return True
    try:
        raw = json.loads(following)
    except ValueError:
        return False
    return isinstance(raw, dict) and raw.get("kind") == "start"


# ---- queries ------------------------------------------------------------------------


def originates_per_number(record: Record) -> dict[str, int]:
    """How many customer calls were placed to each number (accepted originates only)."""
    counts: dict[str, int] = {}
    for e in record.events:
        if isinstance(e, Originate) and e.accepted and not e.agent and e.number is not None:
            counts[e.number] = counts.get(e.number, 0) + 1
    return counts


@dataclass(frozen=True)
class CallTimeline:
    """One customer call as the simulator saw it. Times are epoch seconds.

    ``outcome`` is the called party's truth (human, machine, busy, no_answer,
    congestion, answer_hangup); ``connected`` the first time the call shared a bridge
    with an agent phone (``agent_id``); ``lost`` the time of the restart, stop or
    process start that ended it without a hangup. A call with neither ``hangup`` nor
    ``lost`` was still up when the record ends.
    """

    run: int
    id: str
    number: str
    attempt: str | None
    via: str
    action_id: str | None
    outcome: str | None
    originated: float
    answered: float | None
    amd: Amd | None
    connected: float | None
    agent_id: str | None
    plays: tuple[Play, ...]
    dtmf: tuple[Dtmf, ...]
    hangup: Hangup | None
    lost: float | None


@dataclass
class _Call:
    origin: Originate
    answered: float | None = None
    amd: Amd | None = None
    connected: float | None = None
    agent_id: str | None = None
    plays: list[Play] = field(default_factory=list)
    dtmf: list[Dtmf] = field(default_factory=list)
    hangup: Hangup | None = None
    lost: float | None = None

    def freeze(self) -> CallTimeline:
        o = self.origin
        return CallTimeline(o.run, o.id or "", o.number or "", o.attempt, o.via, o.action_id,
                            o.outcome, o.t, self.answered, self.amd, self.connected,
                            self.agent_id, tuple(self.plays), tuple(self.dtmf), self.hangup,
                            self.lost)


class _Replay:
    """Live calls and bridge members, rebuilt line by line."""

    def __init__(self) -> None:
        self.calls: list[_Call] = []
        self.live: dict[str, _Call] = {}
        self.members: dict[str, dict[str, str]] = {}  # bridge -> channel id -> role

    def feed(self, e: Event) -> None:
        if isinstance(e, Start | Stop | Restart):
            for call in self.live.values():
                call.lost = e.t
            self.live.clear()
            self.members.clear()
        elif isinstance(e, Originate):
            if e.accepted and not e.agent and e.id is not None:
                self.live[e.id] = _Call(e)
                self.calls.append(self.live[e.id])
        elif isinstance(e, BridgeEnter | BridgeLeave | BridgeDestroy):
            self._bridge(e)
        else:
            self._call_event(e)

    def _call_event(self, e: Event) -> None:
        if isinstance(e, Play):
            for cid in e.heard_by:
                if cid in self.live:
                    self.live[cid].plays.append(e)
            return
        call = self.live.get(getattr(e, "id", None) or "")
        if call is None:
            return
        if isinstance(e, Answer):
            call.answered = e.t
        elif isinstance(e, Amd):
            call.amd = e
        elif isinstance(e, Dtmf):
            call.dtmf.append(e)
        elif isinstance(e, Hangup):
            call.hangup = e
            del self.live[e.id]

    def _bridge(self, e: BridgeEnter | BridgeLeave | BridgeDestroy) -> None:
        if isinstance(e, BridgeDestroy):
            self.members.pop(e.bridge, None)
            return
        members = self.members.setdefault(e.bridge, {})
        if isinstance(e, BridgeLeave):
            members.pop(e.id, None)
            return
        members[e.id] = e.role
        agent = next((c for c, r in members.items() if r == "agent"), None)
        if agent is None:
            return
        for cid, role in members.items():
            call = self.live.get(cid)
            if role == "customer" and call is not None and call.connected is None:
                call.connected, call.agent_id = e.t, agent


def call_timelines(record: Record) -> list[CallTimeline]:
    """Every accepted customer call, in the order it was placed."""
    replay = _Replay()
    for e in record.events:
        replay.feed(e)
    return [c.freeze() for c in replay.calls]


@dataclass(frozen=True)
class BridgeOccupancy:
    """The most channels one bridge held, when, and who they were (id, role)."""

    run: int
    bridge: str
    peak: int
    at: float
    members: tuple[tuple[str, str], ...]


def overfull_bridges(record: Record, limit: int = 2) -> list[BridgeOccupancy]:
    """Bridges that ever held more than ``limit`` channels at once."""
    return [b for b in bridge_peaks(record.events) if b.peak > limit]


def bridge_peaks(events: Iterable[Event]) -> list[BridgeOccupancy]:
    """The peak occupancy of every bridge that any channel entered."""
    peaks: dict[tuple[int, str], BridgeOccupancy] = {}
    members: dict[tuple[int, str], dict[str, str]] = {}
    for e in events:
        if isinstance(e, Start | Stop | Restart):
            members.clear()
        elif isinstance(e, BridgeCreate):
            members[(e.run, e.bridge)] = {}
        elif isinstance(e, BridgeLeave):
            members.get((e.run, e.bridge), {}).pop(e.id, None)
        elif isinstance(e, BridgeEnter):
            key = (e.run, e.bridge)
            inside = members.setdefault(key, {})
            inside[e.id] = e.role
            best = peaks.get(key)
            if best is None or e.count > best.peak:
                peaks[key] = BridgeOccupancy(e.run, e.bridge, e.count, e.t,
                                             tuple(inside.items()))
    return list(peaks.values())
