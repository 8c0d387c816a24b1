"""Every recorded AMI byte stream parses into typed events carrying the facts the
engine relies on (see ../shared/asterisk/traces/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.adapters.ami import events as ev
from dialer.adapters.ami.protocol import parse_stream


def typed(path: Path) -> list[ev.AmiEvent]:
    return [ev.parse_event(m) for m in parse_stream(path.read_bytes()) if m.kind == "event"]


def trace(traces: Path, stem: str) -> list[ev.AmiEvent]:
    (path,) = traces.glob(f"ami/{stem}*-recv.raw")
    return typed(path)


def of(events: list[ev.AmiEvent], kind: type[ev.AmiEvent]) -> list[ev.AmiEvent]:
    return [e for e in events if isinstance(e, kind)]


def test_every_recorded_stream_parses_into_typed_events(traces: Path) -> None:
    paths = sorted(traces.glob("*/*-recv.raw"))
    assert len(paths) >= 18
    typed_names = {"originateresponse", "newchannel", "newstate", "dialbegin", "dialend",
                   "hangup", "varset", "userevent", "bridgeenter", "bridgeleave",
                   "coreshowchannel", "fullybooted", "dtmfend"}
    for path in paths:
        for event in typed(path):
            if isinstance(event, ev.OtherEvent):
                assert event.name.lower() not in typed_names, (path.name, event.name)


def test_busy_is_reason_5_and_dialend_busy_while_leg_1_hangs_up_with_cause_0(
        traces: Path) -> None:
    events = trace(traces, "ami-16")
    (resp,) = of(events, ev.OriginateResponse)
    assert isinstance(resp, ev.OriginateResponse)
    assert (resp.success, resp.reason, resp.action_id) == (False, ev.OriginateReason.BUSY,
                                                           "orig-5550106")
    assert resp.channel == "Local/5550106@carrier-sim" and resp.uniqueid is None
    (dial_end,) = of(events, ev.DialEnd)
    assert isinstance(dial_end, ev.DialEnd)
    assert dial_end.dial_status == "BUSY" and dial_end.channel is None
    assert dial_end.dest_channel.endswith(";1")
    causes = {h.channel[-2:]: h.cause for h in of(events, ev.Hangup)
              if isinstance(h, ev.Hangup)}
    assert causes == {";1": 0, ";2": 17}


def test_no_answer_is_reason_3_with_cause_19_on_both_legs(traces: Path) -> None:
    events = trace(traces, "ami-17")
    (resp,) = of(events, ev.OriginateResponse)
    assert isinstance(resp, ev.OriginateResponse)
    assert resp.reason is ev.OriginateReason.NO_ANSWER
    assert {h.cause for h in of(events, ev.Hangup) if isinstance(h, ev.Hangup)} == {19}


def test_congestion_is_reason_8_and_dialend_congestion(traces: Path) -> None:
    events = trace(traces, "ami-18")
    (resp,) = of(events, ev.OriginateResponse)
    assert isinstance(resp, ev.OriginateResponse)
    assert resp.reason is ev.OriginateReason.CONGESTION
    assert [d.dial_status for d in of(events, ev.DialEnd) if isinstance(d, ev.DialEnd)] == [
        "CONGESTION"]
    causes = {h.channel[-2:]: h.cause for h in of(events, ev.Hangup)
              if isinstance(h, ev.Hangup)}
    assert causes == {";1": 0, ";2": 34}


def _amd_results(events: list[ev.AmiEvent]) -> list[tuple[str | None, str | None]]:
    return [(u.get("AMDStatus"), u.get("AMDCause")) for u in of(events, ev.UserEvent)
            if isinstance(u, ev.UserEvent) and u.name == "AMDResult"]


@pytest.mark.parametrize("stem", ["ami-10", "ami-11", "ami-12", "ami-13"])
def test_human_answer_reports_reason_4_then_amd_human_user_event(
        traces: Path, stem: str) -> None:
    events = trace(traces, stem)
    (resp,) = of(events, ev.OriginateResponse)
    assert isinstance(resp, ev.OriginateResponse)
    assert resp.success and resp.reason is ev.OriginateReason.ANSWERED
    assert resp.uniqueid is not None and resp.channel.endswith(";1")
    assert _amd_results(events) == [("HUMAN", "HUMAN-800-800")]
    assert events.index(resp) < next(i for i, e in enumerate(events)
                                     if isinstance(e, ev.UserEvent))


@pytest.mark.parametrize("stem", ["ami-14", "ami-15"])
def test_machine_answer_reports_amd_machine(traces: Path, stem: str) -> None:
    events = trace(traces, stem)
    assert _amd_results(events) == [("MACHINE", "MAXWORDS-3-2")]
    amd = [v.value for v in of(events, ev.VarSet)
           if isinstance(v, ev.VarSet) and v.variable == "AMDSTATUS"]
    assert amd[-1] == "MACHINE"


def test_answer_then_hangup_during_amd_sets_amdstatus_hangup_and_no_user_event(
        traces: Path) -> None:
    events = trace(traces, "ami-19")
    (resp,) = of(events, ev.OriginateResponse)
    assert isinstance(resp, ev.OriginateResponse)
    assert resp.reason is ev.OriginateReason.ANSWERED
    amd = [v.value for v in of(events, ev.VarSet)
           if isinstance(v, ev.VarSet) and v.variable == "AMDSTATUS"]
    assert "HANGUP" in amd
    assert _amd_results(events) == []


def test_unknown_technology_fails_with_reason_0(traces: Path) -> None:
    events = trace(traces, "ami-21")
    by_id = {e.action_id: e for e in of(events, ev.OriginateResponse)
             if isinstance(e, ev.OriginateResponse)}
    assert by_id["err-badtech"].reason is ev.OriginateReason.FAILED
    assert by_id["err-badctx"].reason_code == 0 and not by_id["err-badctx"].success


def test_channel_list_items_and_bridge_events_are_typed(traces: Path) -> None:
    events = trace(traces, "ami-30")
    items = [e for e in of(events, ev.CoreShowChannel) if isinstance(e, ev.CoreShowChannel)]
    assert len(items) >= 2
    assert items[0].duration == 9 and items[0].bridge_id is None
    enters = [e for e in of(events, ev.BridgeEnter) if isinstance(e, ev.BridgeEnter)]
    assert {e.num_channels for e in enters} == {1, 2}
    assert len({e.bridge_id for e in enters}) == 1
    leaves = of(events, ev.BridgeLeave)
    assert leaves


def test_event_missing_a_required_header_names_event_and_header() -> None:
    from dialer.adapters.ami.protocol import Message

    msg = Message.of(("Event", "Hangup"), ("Channel", "Local/x;1"))
    with pytest.raises(ev.AmiEventError, match=r"Hangup: header 'Uniqueid' is missing"):
        ev.parse_event(msg)
    bad = Message.of(("Event", "OriginateResponse"), ("Reason", "four"))
    with pytest.raises(ev.AmiEventError, match="Reason"):
        ev.parse_event(bad)


def test_unknown_event_falls_back_to_other_event_keeping_the_message() -> None:
    from dialer.adapters.ami.protocol import Message

    msg = Message.of(("Event", "DeviceStateChange"), ("Device", "Local/x"))
    event = ev.parse_event(msg)
    assert isinstance(event, ev.OtherEvent) and event.message is msg
