"""Every recorded ARI WebSocket frame parses into a typed event; the typed events carry
the facts of the traces' README; the field names agree with Asterisk's api-docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dialer.adapters.ari import events as ev
from dialer.adapters.ari.models import AriModelError, Channel


def frames(traces: Path) -> dict[str, list[ev.AriEvent]]:
    """Typed events per scenario of ari-ws-raw.txt."""
    out: dict[str, list[ev.AriEvent]] = {}
    scenario = "?"
    for line in (traces / "ari" / "ari-ws-raw.txt").read_text().splitlines():
        if line.startswith("#@ scenario "):
            scenario = line.removeprefix("#@ scenario ").strip()
        elif line.strip():
            out.setdefault(scenario, []).append(ev.parse_frame(line))
    return out


def test_every_recorded_frame_parses_into_a_typed_event(traces: Path) -> None:
    typed = [e for evs in frames(traces).values() for e in evs]
    assert len(typed) > 350
    names = {"StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived",
             "ChannelHangupRequest", "ChannelDestroyed", "Dial", "PlaybackStarted",
             "PlaybackFinished", "ChannelEnteredBridge", "ChannelLeftBridge",
             "BridgeDestroyed", "ChannelVarset", "ChannelTalkingStarted"}
    assert names <= {type(e).__name__ for e in typed}
    others = {e.type for e in typed if isinstance(e, ev.OtherAriEvent)}
    assert not others & names


def test_stasis_start_carries_app_args_and_the_chosen_channel_id(traces: Path) -> None:
    scenario = frames(traces)["ari-10-originate-human-play-dtmf-hangup"]
    starts = [e for e in scenario if isinstance(e, ev.StasisStart)]
    assert starts[0].args == ("campaign-1", "lead-42")
    assert starts[0].channel.id == "human-5550100" and starts[0].channel.state == "Up"
    digits = [e.digit for e in scenario if isinstance(e, ev.ChannelDtmfReceived)]
    assert digits[:2] == ["1", "#"]


def test_dialplan_amd_result_arrives_as_stasis_args(traces: Path) -> None:
    scenario = frames(traces)["ari-30-dialplan-amd-into-stasis"]
    args = {e.args for e in scenario if isinstance(e, ev.StasisStart)}
    assert {("HUMAN", "HUMAN-800-800"), ("MACHINE", "MAXWORDS-3-2")} <= args


@pytest.mark.parametrize(("scenario", "status", "causes"), [
    ("ari-12-originate-busy", "BUSY", {0, 17}),
    ("ari-14-originate-congestion", "CONGESTION", {0, 34}),
    ("ari-13-originate-noanswer-timeout", None, {19}),
])
def test_failed_originate_has_no_stasis_start_and_dial_tells_the_status(
        traces: Path, scenario: str, status: str | None, causes: set[int]) -> None:
    events = frames(traces)[scenario]
    assert not any(isinstance(e, ev.StasisStart) for e in events)
    statuses = [e.dialstatus for e in events if isinstance(e, ev.Dial)]
    if status is not None:
        assert status in statuses
    assert {e.cause for e in events if isinstance(e, ev.ChannelDestroyed)} == causes


def test_delete_hangup_request_is_soft_with_flag_32_and_destroyed_has_cause_16(
        traces: Path) -> None:
    events = frames(traces)["ari-10-originate-human-play-dtmf-hangup"]
    req = next(e for e in events if isinstance(e, ev.ChannelHangupRequest)
               and e.channel.id == "human-5550100")
    assert req.soft and req.cause == 32
    gone = next(e for e in events if isinstance(e, ev.ChannelDestroyed)
                and e.channel.id == "human-5550100")
    assert (gone.cause, gone.cause_txt) == (16, "Normal Clearing")


def test_bridge_events_name_bridge_and_channel(traces: Path) -> None:
    events = frames(traces)["ari-20-bridge-customer-agent"]
    entered = [e for e in events if isinstance(e, ev.ChannelEnteredBridge)]
    assert entered[0].bridge.id == "bridge-call-1" and entered[0].channel.id == "cust-5550101"
    assert any(isinstance(e, ev.BridgeDestroyed) and e.bridge.id == "bridge-call-1"
               for e in events)
    finished = [e for e in events if isinstance(e, ev.PlaybackFinished)]
    assert finished and all(e.playback.state == "done" for e in finished)


def test_channel_ids_name_every_channel_an_event_concerns(traces: Path) -> None:
    events = frames(traces)["ari-10-originate-human-play-dtmf-hangup"]
    dial = next(e for e in events if isinstance(e, ev.Dial))
    assert ev.channel_ids(dial)[0] == "human-5550100"
    far = next(e for e in events if isinstance(e, ev.ChannelVarset))
    assert ev.channel_ids(far) == ("human-5550100-far",)


def test_bad_frames_name_the_model_and_field() -> None:
    with pytest.raises(AriModelError, match="not JSON"):
        ev.parse_frame("{not json")
    with pytest.raises(AriModelError, match=r"event\.type is missing"):
        ev.parse_frame("{}")
    with pytest.raises(AriModelError, match=r"ChannelDestroyed\.channel is missing"):
        ev.parse_frame('{"type": "ChannelDestroyed", "cause": 16}')
    with pytest.raises(AriModelError, match=r"ChannelDestroyed\.cause should be int"):
        ev.parse_frame(json.dumps({"type": "ChannelDestroyed", "cause": "16",
                                   "channel": {"id": "a", "name": "b", "state": "Up"}}))


def test_typed_fields_exist_in_the_api_docs_models(ari_docs: Path) -> None:
    models = json.loads((ari_docs / "events.json").read_text())["models"]
    for name in ("StasisStart", "ChannelDtmfReceived", "ChannelHangupRequest",
                 "ChannelDestroyed", "Dial", "ChannelVarset", "ChannelEnteredBridge",
                 "PlaybackFinished", "BridgeDestroyed", "ChannelTalkingFinished"):
        cls = getattr(ev, name)
        declared = set(models[name]["properties"])
        ours = {f for f in cls.__dataclass_fields__ if f != "duration_ms"}
        assert ours <= declared, (name, ours - declared)
    channel = json.loads((ari_docs / "channels.json").read_text())["models"]["Channel"]
    assert set(Channel.__dataclass_fields__) <= set(channel["properties"])
