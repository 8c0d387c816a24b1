"""Reading the simulator's record: torn lines, runs, typed events and the queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialer.sim.record import SimRecord
from dialer.sim.record_events import Amd, Hangup, Originate, Start
from dialer.sim.record_reader import (
    RecordError,
    call_timelines,
    originates_per_number,
    overfull_bridges,
    parse_record,
)


def line(kind: str, t: float, **fields: Any) -> str:
    return json.dumps({"t": t, "kind": kind, **fields}, separators=(",", ":"))


def start(t: float) -> str:
    return line("start", t, pid=7, host="127.0.0.1", ami_port=5038, ari_host="127.0.0.1",
                ari_port=8088, speed=1, seed=0)


def originate(t: float, cid: str, number: str, *, agent: bool = False,
              accepted: bool = True) -> str:
    return line("originate", t, id=cid, dial=f"Local/{number}@carrier-sim", number=number,
                via="ari", action_id=None, attempt=f"att-{cid}", agent=agent,
                outcome="agent" if agent else "human", accepted=accepted,
                reason=None if accepted else "channel id already exists")


def enter(t: float, bridge: str, cid: str, role: str, count: int) -> str:
    return line("bridge_enter", t, bridge=bridge, id=cid, number=None, role=role, count=count)


def leave(t: float, bridge: str, cid: str, role: str, count: int) -> str:
    return line("bridge_leave", t, bridge=bridge, id=cid, number=None, role=role, count=count)


def text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


HUMAN_CALL = [
    start(1.0),
    originate(2.0, "agent-1", "agent1", agent=True),
    line("answer", 2.0, id="agent-1", number="agent1", agent=True),
    line("bridge_create", 2.1, bridge="hold-1", type="holding"),
    enter(2.1, "hold-1", "agent-1", "agent", 1),
    originate(3.0, "c-1", "5550100"),
    line("answer", 5.0, id="c-1", number="5550100", agent=False),
    line("amd", 7.0, id="c-1", number="5550100", status="HUMAN", cause="HUMAN-800-800"),
    enter(7.5, "hold-1", "c-1", "customer", 2),
    line("play", 8.0, target="bridge:hold-1", media=["sound:hello"], playback="pb-1",
         via="ari", heard_by=["agent-1", "c-1"]),
    line("dtmf", 9.0, id="c-1", number="5550100", digits="9"),
    leave(20.0, "hold-1", "c-1", "customer", 1),
    line("hangup", 20.0, id="c-1", number="5550100", role="customer", cause=16),
]


def test_a_call_has_its_timeline() -> None:
    [call] = call_timelines(parse_record(text(*HUMAN_CALL)))
    assert (call.run, call.id, call.number, call.attempt) == (1, "c-1", "5550100", "att-c-1")
    assert (call.originated, call.answered, call.connected) == (3.0, 5.0, 7.5)
    assert call.agent_id == "agent-1"
    assert call.amd == Amd(7.0, 1, "c-1", "5550100", "HUMAN", "HUMAN-800-800")
    assert [p.playback for p in call.plays] == ["pb-1"]
    assert [d.digits for d in call.dtmf] == ["9"]
    assert call.hangup == Hangup(20.0, 1, "c-1", "5550100", "customer", 16)
    assert call.lost is None


def test_an_agent_joining_a_customer_already_in_the_bridge_connects_them() -> None:
    record = parse_record(text(
        start(1.0), originate(2.0, "c-1", "5550101"),
        enter(3.0, "b-1", "c-1", "customer", 1), enter(4.0, "b-1", "a-1", "agent", 2)))
    [call] = call_timelines(record)
    assert (call.connected, call.agent_id) == (4.0, "a-1")


def test_a_customer_who_left_before_the_agent_came_is_not_connected() -> None:
    record = parse_record(text(
        start(1.0), originate(2.0, "c-1", "5550101"),
        enter(3.0, "b-1", "c-1", "customer", 1), leave(3.5, "b-1", "c-1", "customer", 0),
        enter(4.0, "b-1", "a-1", "agent", 1)))
    assert call_timelines(record)[0].connected is None


def test_a_restart_or_a_new_process_loses_the_live_calls() -> None:
    record = parse_record(text(
        start(1.0), originate(2.0, "c-1", "5550101"),
        line("restart", 3.0, lost_channels=2, lost_bridges=0),
        originate(4.0, "c-2", "5550102"), start(9.0), originate(10.0, "c-3", "5550103")))
    calls = call_timelines(record)
    assert [(c.id, c.run, c.lost) for c in calls] == [
        ("c-1", 1, 3.0), ("c-2", 1, 9.0), ("c-3", 2, None)]


def test_originates_are_counted_per_number_for_accepted_customer_calls_only() -> None:
    record = parse_record(text(
        start(1.0), originate(2.0, "a", "agent1", agent=True),
        originate(3.0, "c-1", "5550100"), originate(4.0, "c-1", "5550100", accepted=False),
        start(5.0), originate(6.0, "c-9", "5550100"), originate(7.0, "c-8", "5550101")))
    assert originates_per_number(record) == {"5550100": 2, "5550101": 1}


def test_a_bridge_that_ever_held_three_is_flagged_with_its_members() -> None:
    record = parse_record(text(
        *HUMAN_CALL[:9], originate(9.0, "c-2", "5550102"),
        enter(10.0, "hold-1", "c-2", "customer", 3), leave(11.0, "hold-1", "c-2", "customer", 2),
        line("bridge_create", 12.0, bridge="hold-2", type="holding"),
        enter(12.0, "hold-2", "a-2", "agent", 1)))
    [flagged] = overfull_bridges(record)
    assert (flagged.run, flagged.bridge, flagged.peak, flagged.at) == (1, "hold-1", 3, 10.0)
    assert flagged.members == (("agent-1", "agent"), ("c-1", "customer"),
                               ("c-2", "customer"))
    assert overfull_bridges(record, limit=3) == []


def test_a_torn_last_line_is_skipped() -> None:
    body = text(*HUMAN_CALL[:7]) + HUMAN_CALL[7][:25]
    record = parse_record(body, "sim.jsonl")
    assert record.torn == (8,)
    assert len(record.events) == 7
    assert call_timelines(record)[0].amd is None


def test_a_torn_line_before_a_new_run_is_skipped() -> None:
    record = parse_record(text(start(1.0), originate(2.0, "c-1", "5550100")[:30], start(3.0)))
    assert (record.runs, record.torn) == (2, (2,))
    assert [type(e) for e in record.events] == [Start, Start]
    assert [e.run for e in record.events] == [1, 2]


def test_a_bad_line_inside_a_run_is_an_error_naming_it() -> None:
    with pytest.raises(RecordError, match=r"sim\.jsonl line 2: not JSON"):
        parse_record(text(start(1.0), "{oops", originate(2.0, "c", "5550100")), "sim.jsonl")


@pytest.mark.parametrize(("bad", "message"), [
    (line("hangup", 1.0, id="c", number="1", role="customer"), "hangup lacks 'cause'"),
    (line("hangup", 1.0, id="c", number="1", role="customer", cause="16"),
     "field 'cause' should be int"),
    (line("answer", 1.0, id="c", number="1", agent=1), "field 'agent' should be bool"),
    (line("teleport", 1.0), "unknown kind 'teleport'"),
    ("[1, 2]", "expected a JSON object"),
])
def test_lines_of_the_wrong_shape_are_named(bad: str, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        parse_record(text(bad, originate(3.0, "c", "5550100")))


def test_lines_before_any_start_belong_to_run_zero() -> None:
    [event] = parse_record(text(originate(2.0, "c-1", "5550100"))).events
    assert isinstance(event, Originate) and event.run == 0


def test_what_the_writer_writes_the_reader_reads() -> None:
    record = SimRecord()
    record.add("fault", name="stall", seconds=2)
    record.add("fault", name="refuse", on=True)
    record.add("play", target="channel:c", media=["x"], playback=None, via="agi",
               heard_by=["c"])
    events = parse_record("".join(record.lines)).events
    assert [getattr(e, "seconds", None) for e in events] == [2.0, None, None]
    assert [getattr(e, "on", None) for e in events] == [None, True, None]
    assert getattr(events[2], "media", None) == ("x",)


def test_the_memory_record_forgets_its_oldest_half_but_keeps_counting() -> None:
    record = SimRecord(limit=4)
    for i in range(6):
        record.add("fault", name="drop_ami", count=i)
    assert (record.dropped, record.next_index) == (2, 6)
    first, lines = record.since(0)
    assert first == 2 and [json.loads(x)["count"] for x in lines] == [2, 3, 4, 5]
    assert record.since(5)[1] == [record.lines[-1]]
    assert record.since(9) == (9, [])
