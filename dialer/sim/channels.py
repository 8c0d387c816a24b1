"""Channels and bridges of the simulated PBX: plain state, no behaviour.

A channel carries what Asterisk puts in its AMI snapshot (state, caller id, dialplan
location, ids) plus the simulator's bookkeeping (pending timers, Stasis app, bridge).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from dialer.sim.model import CalleePlan

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
ARI_STATE = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}

CAUSE_TXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}

UNKNOWN = "<unknown>"


@dataclass(eq=False)
class Channel:
    """One simulated channel (a Local half, or a PJSIP channel)."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = 0
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    variables: dict[str, str] = field(default_factory=dict)
    application: str = "AppDial2"
    app_data: str = "(Outgoing Line)"
    created: float = field(default_factory=time.time)
    peer: Channel | None = None  # the other half of a Local pair
    is_one: bool = True
    bridge: Bridge | None = None
    stasis_app: str | None = None
    ari_apps: set[str] = field(default_factory=set)
    ari_args: list[str] = field(default_factory=list)
    plan: CalleePlan | None = None
    gone: bool = False
    hangup_pending: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    role: str = ""  # "customer", "agent", "" (dialplan only)
    agi: Any = None
    dialplan_up: bool = False  # the ;1 side runs dialplan after answer
    dtmf_sink: Any = None
    dial_peer: Channel | None = None  # the callee of a dialplan Dial()
    far_timer: asyncio.TimerHandle | None = None  # the called party's next move
    agent_name: str = ""
    talking_with: Channel | None = None  # customer <-> agent while bridged
    dial_started: float = 0.0
    answered_at: float = 0.0  # time.monotonic() when it went Up by an answer
    deferred_cid: tuple[str, str] | None = None
    dialstring: str = ""
    hangup_reported: bool = False
    number: str = ""  # what was dialled to make this channel (set when it is dialled)
    hangup_cause: int = 0

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    @property
    def ari_id(self) -> str:
        """ARI's channel id is the Uniqueid (a chosen channelId becomes the Uniqueid)."""
        return self.uniqueid

    def snapshot(self, prefix: str = "") -> list[tuple[str, str]]:
        """The AMI channel headers, optionally prefixed (``Dest``, ``LocalOne``...)."""
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", self.state_desc),
            (f"{p}CallerIDNum", self.cid_num),
            (f"{p}CallerIDName", self.cid_name),
            (f"{p}ConnectedLineNum", self.conn_num),
            (f"{p}ConnectedLineName", self.conn_name),
            (f"{p}Language", "en"),
            (f"{p}AccountCode", ""),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]

    def at(self, context: str, exten: str, priority: int = 1) -> None:
        """Move the channel's dialplan location."""
        self.context, self.exten, self.priority = context, exten, priority

    def cancel_timers(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()


@dataclass(eq=False)
class Bridge:
    """A mixing bridge."""

    uniqueid: str
    name: str = ""
    bridge_type: str = "mixing"
    creator: str = "Stasis"
    channels: list[Channel] = field(default_factory=list)
    ari_app: str | None = None
    created: float = field(default_factory=time.time)
    peak: int = 0  # the most channels it ever held at once

    @property
    def technology(self) -> str:
        return "simple_bridge" if len(self.channels) <= 2 else "softmix"

    def snapshot(self) -> list[tuple[str, str]]:
        return [
            ("BridgeUniqueid", self.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]
