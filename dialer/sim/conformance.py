"""Normalising AMI and ARI traffic so that a replay can be compared with a recording.

What is compared, and what is not:

* Message types (Response / Event name), header names and header order: always.
* Values: always, except ids, times and counters (:data:`AMI_ID_KEYS`,
  :data:`AMI_TIME_KEYS`), which become placeholders. Channel sequence suffixes
  (``-0000000a;1``) and bridge ids are renumbered in order of first appearance, so two
  runs that create the same channels in the same order compare equal.
* Dialplan position (Context, Exten, Priority, Application...) inside channel snapshots:
  not compared. The simulator does not run the recorded test carrier's dialplan line by
  line; the header names are still compared. OriginateResponse keeps its values.
* Events that only report dialplan steps (:data:`AMI_IGNORED_EVENTS`) and VarSet of the
  recorded dialplan's private variables (:data:`PRIVATE_VAR`) are left out on both sides.
* Order: Asterisk's order is fixed per channel, per originate, and within the replies of
  one session; across channels its threads race. So messages are grouped into streams
  (one per channel, one per OriginateResponse, one per bridge, one for the session's
  replies) and each stream is compared in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

Headers = Sequence[tuple[str, str]]

AMI_IGNORED_EVENTS = frozenset({"Newexten", "DeviceStateChange"})
PRIVATE_VAR = re.compile(
    r"^(LOCAL\(.*\)|WHILE_\d+|END_WHILE_\d+|ARG\d+|ARGC|GOSUB_RETVAL|SIM_\w+|AMD_\w+|"
    r"PLAYBACKSTATUS|left|sim-.*|DIALER_DISPOSITION)$")
_PREFIXES = ("", "Dest", "LocalOne", "LocalTwo")
AMI_ID_KEYS = frozenset(
    [p + k for p in _PREFIXES for k in ("Uniqueid", "Linkedid")]
    + ["SessionID", "LocalAddress", "RemoteAddress", "Challenge", "Key", "CommandId",
       "BridgeUniqueid", "BridgeID", "BridgeId"])
AMI_TIME_KEYS = frozenset({"Timestamp", "EventTV", "SessionTV", "Uptime", "LastReload",
                           "Duration", "Seconds", "AMDMs"})
AMI_TIMED_VARS = frozenset({"ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS",
                            "RINGTIME", "RINGTIME_MS", "PROGRESSTIME", "PROGRESSTIME_MS"})
AMI_POSITION_KEYS = frozenset(
    [p + k for p in _PREFIXES for k in ("Context", "Exten", "Priority")]
    + ["Application", "ApplicationData", "Data", "AppData", "Extension"])
CHANNEL_NAME = _CHAN_SUFFIX = re.compile(
    r"((?:Local|PJSIP|Announcer)/[^;\s!]*?)-([0-9a-f]{8})(?=;[12]|\b)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Renumber:
    """Maps ids to their order of first appearance (``<c1>``, ``<b1>``...)."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}
        self.bridges: dict[str, str] = {}
        self.uids: dict[str, str] = {}

    def uid(self, value: str) -> str:
        return self.uids.setdefault(value, f"<u{len(self.uids) + 1}>")

    def text(self, value: str) -> str:
        value = _UUID.sub(lambda m: self._bridge(m.group(0)), value)
        return _CHAN_SUFFIX.sub(lambda m: m.group(1) + "-" + self._chan(m.group(0)), value)

    def _chan(self, seq: str) -> str:
        return self.channels.setdefault(seq, f"<c{len(self.channels) + 1}>")

    def _bridge(self, uid: str) -> str:
        return self.bridges.setdefault(uid, f"<b{len(self.bridges) + 1}>")


def ami_kept(headers: Headers) -> bool:
    """Whether a received AMI message takes part in the comparison."""
    d = dict(headers)
    event = d.get("Event")
    if event in AMI_IGNORED_EVENTS:
        return False
    return not (event == "VarSet" and PRIVATE_VAR.match(d.get("Variable", "")))


def _value(event: str | None, key: str, value: str, var: str, ren: Renumber) -> str:
    if key in AMI_ID_KEYS and value != "<unknown>":
        return "<id>"
    if key in AMI_TIME_KEYS or (key == "Value" and var in AMI_TIMED_VARS):
        return "<t>"
    if key in AMI_POSITION_KEYS and event not in (None, "OriginateResponse"):
        return "<pos>"
    if key == "Output" and "!" in value:
        fields = value.split("!")
        return ren.text(f"{fields[0]}!{fields[4]}")
    return ren.text(value)


def ami_stream(headers: Headers, ren: Renumber) -> str:
    d = dict(headers)
    event = d.get("Event")
    if event is None:
        return "session"
    if event == "OriginateResponse":
        return "originate:" + d.get("ActionID", "")
    if "ActionID" in d:
        return "session"
    for key in ("Channel", "DestChannel", "LocalOneChannel"):
        if key in d:
            return ren.text(d[key])
    if event.startswith("Bridge"):
        return ren.text(d.get("BridgeUniqueid", "bridge"))
    return "other:" + event


def normalise_ami(messages: Iterable[Headers]) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Group kept AMI messages into streams of normalised header tuples."""
    ren = Renumber()
    streams: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for headers in messages:
        if not ami_kept(headers):
            continue
        d = dict(headers)
        event, var = d.get("Event"), d.get("Variable", "")
        norm = tuple((k, _value(event, k, v, var, ren)) for k, v in headers)
        streams.setdefault(ami_stream(headers, ren), []).append(norm)
    return streams


def diff_streams(want: Mapping[str, Sequence[object]],
                 got: Mapping[str, Sequence[object]]) -> list[str]:
    """Human-readable differences, empty when the streams match."""
    problems: list[str] = []
    for key in sorted(set(want) | set(got)):
        a, b = want.get(key, []), got.get(key, [])
        if a == b:
            continue
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                problems.append(f"stream {key} item {i}:\n  recorded: {_fmt(x)}\n"
                                f"  simulated: {_fmt(y)}")
                break
    return problems


def _fmt(item: object) -> str:
    if item is None:
        return "(nothing)"
    if isinstance(item, tuple):
        return " | ".join(f"{k}={v}" for k, v in item)
    return json.dumps(item, sort_keys=False)


# ---- ARI --------------------------------------------------------------------------------

ARI_IGNORED_EVENTS = frozenset({"ChannelDialplan", "RecordingStarted", "RecordingFinished"})
ARI_UNSIMULATED_PATHS = re.compile(r"^/(recordings|channels/[^/]+/record|sounds|api-docs)")
ARI_TIME_KEYS = frozenset({"timestamp", "creationtime", "startup_time", "last_reload_time",
                           "duration", "max_channels"})
_UNIQUEID = re.compile(r"^\d{6,}\.\d+(;2)?$")


def ari_event_kept(event: dict[str, object]) -> bool:
    kind = event.get("type")
    if kind in ARI_IGNORED_EVENTS:
        return False
    return not (kind == "ChannelVarset" and PRIVATE_VAR.match(str(event.get("variable", ""))))


def normalise_json(value: object, ren: Renumber, key: str = "") -> object:
    """Ids, times and dialplan positions become placeholders; the rest is kept."""
    if key in ARI_TIME_KEYS:
        return "<t>"
    if key == "dialplan":
        return "<pos>"
    if isinstance(value, dict):
        out = {k: normalise_json(v, ren, k) for k, v in value.items()}
        if _UNIQUEID.match(str(value.get("id", ""))) and "name" in value:
            out["id"] = f"<id of {out['name']}>"  # Asterisk chose it: name the channel
        return out
    if isinstance(value, list):
        return [normalise_json(v, ren, key) for v in value]
    if isinstance(value, str):
        if _UNIQUEID.match(value):
            return ren.uid(value)
        return ren.text(value)
    return value


def ari_stream(event: dict[str, object], ren: Renumber) -> str:
    for key in ("channel", "peer", "playback", "bridge"):
        obj = event.get(key)
        if isinstance(obj, dict):
            kind = "channel" if key == "peer" else key
            norm = normalise_json(obj, ren)
            assert isinstance(norm, dict)
            return f"{kind}:{norm.get('id')}"
    return "other"


def normalise_ari(events: Iterable[dict[str, object]],
                  ren: Renumber | None = None) -> dict[str, list[object]]:
    ren = ren or Renumber()
    streams: dict[str, list[object]] = {}
    for event in events:
        if ari_event_kept(event):
            norm = normalise_json(event, ren)
            assert isinstance(norm, dict)
            streams.setdefault(ari_stream(event, ren), []).append(norm)
    return streams
