"""Arbitrary input never crashes a parser with anything but its own clear error."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.adapters.agi.protocol import AgiProtocolError, parse_env_line, parse_reply
from dialer.adapters.ami.events import AmiEventError, parse_event
from dialer.adapters.ami.protocol import Message
from dialer.adapters.ari.events import parse_event as parse_ari_event
from dialer.adapters.ari.models import AriModelError

AMI_NAMES = ["OriginateResponse", "Newchannel", "Newstate", "DialBegin", "DialEnd", "Hangup",
             "VarSet", "UserEvent", "BridgeEnter", "BridgeLeave", "DtmfEnd",
             "CoreShowChannel", "FullyBooted", "Other"]
AMI_KEYS = ["ActionID", "Response", "Reason", "Channel", "Uniqueid", "Linkedid",
            "ChannelState", "ChannelStateDesc", "Context", "Exten", "DestChannel",
            "DestUniqueid", "DestLinkedid", "DialStatus", "Cause", "Cause-txt", "Variable",
            "Value", "UserEvent", "BridgeUniqueid", "BridgeNumChannels", "Digit",
            "Duration", "X-Custom"]
ARI_TYPES = ["StasisStart", "StasisEnd", "ChannelDestroyed", "Dial", "ChannelVarset",
             "PlaybackFinished", "ChannelEnteredBridge", "BridgeDestroyed",
             "ChannelDtmfReceived", "ChannelHangupRequest", "Unknown"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "name", "state", "channel", "peer", "bridge",
                                       "playback", "args", "cause", "digit", "variable",
                                       "channels"]), inner, max_size=5),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(AMI_NAMES),
       st.lists(st.tuples(st.sampled_from(AMI_KEYS), st.text(max_size=12)), max_size=12))
def test_ami_events_parse_or_raise_an_error_naming_the_header(
        name: str, headers: list[tuple[str, str]]) -> None:
    try:
        parse_event(Message((("Event", name), *headers)))
    except AmiEventError as exc:
        assert name in str(exc) and exc.header in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ARI_TYPES),
       st.dictionaries(st.sampled_from(["channel", "peer", "bridge", "playback", "args",
                                        "cause", "digit", "variable", "value", "soft"]),
                       json_values, max_size=6))
def test_ari_events_parse_or_raise_a_model_error(kind: str, fields: dict[str, object]) -> None:
    try:
        parse_ari_event({"type": kind, **fields})
    except AriModelError as exc:
        assert kind in str(exc) or "event" in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_agi_lines_parse_or_raise_a_protocol_error(line: str) -> None:
    for parse in (parse_reply, parse_env_line):
        with contextlib.suppress(AgiProtocolError):
            parse(line)
