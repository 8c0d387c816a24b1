"""The simulated PBX core: channels, Local pairs, bridges, hangups and the event bus.

The AMI server and the ARI server are views of this core. The core emits every AMI
event once (as header pairs, encoded once) to all AMI sinks, and tells the ARI view
about channel changes through :meth:`Pbx.notify`. Timers run on the event loop,
scaled by the speed factor; a channel's timers die with it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from dialer.adapters.ami.protocol import encode
from dialer.sim.channels import CAUSE_TXT, UNKNOWN, Bridge, Channel
from dialer.sim.record import SimRecord, role_of

log = logging.getLogger(__name__)
Headers = list[tuple[str, str]]
AmiSink = Callable[[bytes], None]
Observer = Callable[[str, dict[str, Any]], None]


class Pbx:
    """Channels, bridges and the event bus."""

    def __init__(self, *, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.channels: dict[str, Channel] = {}
        self.by_id: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.ami_sinks: set[AmiSink] = set()
        self.observers: list[Observer] = []
        self.started = time.time()
        self._uid = itertools.count()
        self._seq = itertools.count()
        self.events_emitted = 0
        self.errors: list[Exception] = []
        self.record = SimRecord()
        self.globals: dict[str, str] = {}  # dialplan GLOBAL() variables

    # ---- ids and time -------------------------------------------------------------

    def new_uniqueid(self) -> str:
        return f"{int(time.time())}.{next(self._uid)}"

    def new_seq(self) -> str:
        return f"{next(self._seq):08x}"

    def later(self, ch: Channel | None, delay_s: float,
              fn: Callable[[], None]) -> asyncio.TimerHandle:
        """Run ``fn`` after ``delay_s`` simulated seconds (cancelled if ``ch`` dies)."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(max(delay_s, 0.0) / self.speed, self._guarded, fn)
        if ch is not None:
            if len(ch.timers) > 16:  # forget the timers that already ran
                now = loop.time()
                ch.timers = [h for h in ch.timers if not h.cancelled() and h.when() > now]
            ch.timers.append(handle)
        return handle

    def _guarded(self, fn: Callable[[], None]) -> None:
        """Run a timer; a failure is logged and kept in :attr:`errors`, never lost."""
        try:
            fn()
        except Exception as exc:
            self.errors.append(exc)
            log.exception("simulated PBX timer failed")

    def chan_var(self, ch: Channel, name: str) -> str:
        """``${name}`` as the dialplan reads it: the channel's variable, else the global."""
        value = ch.variables.get(name)
        return value if value is not None else self.globals.get(name, "")

    # ---- events ---------------------------------------------------------------------

    def emit(self, event: str, privilege: str, headers: Headers) -> None:
        data = encode([("Event", event), ("Privilege", privilege), *headers])
        self.events_emitted += 1
        for sink in tuple(self.ami_sinks):
            sink(data)

    def chan_event(self, event: str, ch: Channel, extra: Headers | None = None,
                   priv: str = "call,all") -> None:
        self.emit(event, priv, [*ch.snapshot(), *(extra or ())])
        kind = _ARI_KINDS.get(event)
        if kind is not None and self.observers:
            self.notify(kind, channel=ch, event=event, headers=dict(extra or ()))

    def notify(self, kind: str, **payload: Any) -> None:
        for obs in self.observers:
            obs(kind, payload)

    # ---- channels -------------------------------------------------------------------

    def add(self, ch: Channel) -> None:
        self.channels[ch.name] = ch
        self.by_id[ch.ari_id] = ch

    def find(self, name_or_id: str) -> Channel | None:
        return self.channels.get(name_or_id) or self.by_id.get(name_or_id)

    def newchannel(self, ch: Channel) -> None:
        self.chan_event("Newchannel", ch)

    def set_state(self, ch: Channel, state: int) -> None:
        if ch.gone or ch.state == state:
            return
        ch.state = state
        self.chan_event("Newstate", ch)

    def setvar(self, ch: Channel, name: str, value: str, *, event: bool = True) -> None:
        ch.variables[name] = value
        if event:
            self.chan_event("VarSet", ch, [("Variable", name), ("Value", value)],
                            priv="dialplan,all")

    def set_callerid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        pres = ("67 (Number Unavailable)" if num == UNKNOWN
                else "0 (Presentation Allowed, Not Screened)")
        self.chan_event("NewCallerid", ch, [("CID-CallingPres", pres)])

    def set_connected(self, ch: Channel, num: str, name: str) -> None:
        ch.conn_num, ch.conn_name = num, name
        self.chan_event("NewConnectedLine", ch)

    # ---- hangup ---------------------------------------------------------------------

    def hangup(self, ch: Channel, cause: int = 16, *, soft: bool = True,
               soft_cause: int | None = None) -> None:
        """Hang up ``ch`` as the initiator (Hangup action, ARI DELETE, dialplan Hangup).

        ``soft_cause`` is what SoftHangupRequest reports (ARI's DELETE gives 32, the
        soft-hangup flag); ``cause`` is the Q.850 cause of the Hangup.
        """
        if ch.gone or ch.hangup_pending:
            return
        ch.hangup_pending = True
        if ch.dial_peer is not None and ch.bridge is not None:
            self._end_dial(ch)
        if soft:
            self.chan_event("SoftHangupRequest", ch, [("Cause", str(soft_cause or cause))])
        if ch.is_one and ch.state in (4, 5) and ch.dialstring and not ch.hangup_reported:
            self.dial_cancelled(ch)
        peer = ch.peer if ch.peer is not None and not ch.peer.gone else None
        if peer is not None:
            peer.hangup_pending = True
            self.chan_event("HangupRequest", peer, [("Cause", str(cause))])
        self.leave_bridge(ch)
        if ch.is_one or peer is None:
            self.destroy(ch, cause)
            if peer is not None:
                self.chan_event("SoftHangupRequest", peer, [("Cause", "16")])
                self.destroy(peer, cause)
        else:
            self.far_gone(peer, cause)
            self.destroy(ch, cause)

    def dial_cancelled(self, one: Channel) -> None:
        """A ringing originated channel was hung up before the far end answered."""

    def far_gone(self, one: Channel, cause: int) -> None:
        """The far half of ``one`` hung up; the dialplan layer may override this."""
        self.leave_bridge(one)
        self.destroy(one, cause)

    def _end_dial(self, ch: Channel) -> None:
        callee = ch.dial_peer
        ch.dial_peer = None
        assert callee is not None
        self.leave_bridge(ch)
        self.hangup(callee, 16, soft=False)
        self.on_dial_end(ch)

    def on_dial_end(self, ch: Channel) -> None:
        """A dialplan Dial() of ``ch`` finished (the dialplan layer sets DIAL* vars)."""

    def destroy(self, ch: Channel, cause: int) -> None:
        if ch.gone:
            return
        ch.cancel_timers()
        if ch.agi is not None:
            ch.agi.channel_gone()
        if ch.bridge is not None:
            self.leave_bridge(ch)
        self.notify("before_destroy", channel=ch, cause=cause)
        ch.gone = True
        ch.hangup_cause = cause
        if ch.deferred_cid is not None:
            ch.cid_num, ch.cid_name = ch.deferred_cid
        self.chan_event("Hangup", ch, [("Cause", str(cause)),
                                       ("Cause-txt", CAUSE_TXT.get(cause, "Unknown"))])
        if ch.deferred_cid is not None:
            self.set_callerid(ch, *ch.deferred_cid)
        self.channels.pop(ch.name, None)
        self.by_id.pop(ch.ari_id, None)
        self.forget(ch)
        self.notify("destroyed", channel=ch, cause=cause)
        self._record_hangup(ch)

    def _record_hangup(self, ch: Channel) -> None:
        """Once both halves of a dialled call are gone, record its hangup; the cause is
        the first non-zero of the two (a busy ;1 goes with 0, its ;2 with 17)."""
        head = ch if ch.is_one else ch.peer
        if head is None or not head.number or not head.gone:
            return
        other = head.peer
        if other is not None and not other.gone:
            return
        cause = head.hangup_cause or (other.hangup_cause if other is not None else 0)
        self.record.add("hangup", id=head.ari_id, number=head.number, role=role_of(head),
                        cause=cause)

    def forget(self, ch: Channel) -> None:
        """Drop any per-channel bookkeeping of the layers above."""

    # ---- bridges --------------------------------------------------------------------

    def create_bridge(self, *, bridge_id: str | None = None, name: str = "",
                      bridge_type: str = "mixing", ari_app: str | None = None,
                      dissolve: bool = False) -> Bridge:
        b = Bridge(bridge_id or str(uuid.uuid4()), name=name, bridge_type=bridge_type,
                   ari_app=ari_app)
        b.creator = "" if dissolve else "Stasis"
        self.bridges[b.uniqueid] = b
        self.record.add("bridge_create", bridge=b.uniqueid, type=bridge_type)
        self.emit("BridgeCreate", "call,all", b.snapshot())
        self.notify("bridge_created", bridge=b)
        return b

    def enter_bridge(self, b: Bridge, ch: Channel) -> None:
        if ch.bridge is b:
            return
        if ch.bridge is not None:
            self.leave_bridge(ch)
        b.channels.append(ch)
        ch.bridge = b
        b.peak = max(b.peak, len(b.channels))
        self._record_member("bridge_enter", b, ch)
        self.emit("BridgeEnter", "call,all", [*b.snapshot(), *ch.snapshot()])
        self.notify("entered_bridge", bridge=b, channel=ch)

    def set_bridgepeers(self, b: Bridge) -> None:
        if len(b.channels) == 2:
            x, y = b.channels
            self.setvar(x, "BRIDGEPEER", y.name)
            self.setvar(y, "BRIDGEPEER", x.name)

    def exchange_connected_line(self, x: Channel, y: Channel) -> None:
        """Two bridged channels learn each other's caller id (and pass it through Local)."""
        self.connected_line(x, y.cid_num, y.cid_name)
        self.connected_line(y, x.cid_num, x.cid_name)

    def connected_line(self, ch: Channel, num: str, name: str) -> None:
        """A connected-line update: told only when it changes, then passed to the
        other Local half as its caller id."""
        if (ch.conn_num, ch.conn_name) == (num, name):
            return
        self.set_connected(ch, num, name)
        far = ch.peer
        if far is None or far.gone:
            return
        if far.application == "Wait" or far.role == "agent-phone":
            far.deferred_cid = (num, name)  # read once its Wait ends
        else:
            self.set_callerid(far, num, name)

    def leave_bridge(self, ch: Channel) -> None:
        b = ch.bridge
        if b is None:
            return
        dissolve = b.creator == ""
        if dissolve and len(b.channels) == 2:
            for c in b.channels:
                self.setvar(c, "BRIDGEPEER", "")
        elif not dissolve and ch.variables.get("BRIDGEPEER"):
            self.setvar(ch, "BRIDGEPEER", "")
        others = [c for c in b.channels if c is not ch]
        self._leave(b, ch)
        if dissolve:
            for other in others:
                self._leave(b, other)
            self.destroy_bridge(b)

    def _leave(self, b: Bridge, ch: Channel) -> None:
        b.channels.remove(ch)
        ch.bridge = None
        self._record_member("bridge_leave", b, ch)
        self.emit("BridgeLeave", "call,all", [*b.snapshot(), *ch.snapshot()])
        self.notify("left_bridge", bridge=b, channel=ch)

    def _record_member(self, kind: str, b: Bridge, ch: Channel) -> None:
        self.record.add(kind, bridge=b.uniqueid, id=ch.ari_id, number=ch.number or None,
                        role=role_of(ch), count=len(b.channels))

    def destroy_bridge(self, b: Bridge) -> None:
        for ch in list(b.channels):
            self._leave(b, ch)
        if self.bridges.pop(b.uniqueid, None) is None:
            return
        self.record.add("bridge_destroy", bridge=b.uniqueid, peak=b.peak)
        self.emit("BridgeDestroy", "call,all", b.snapshot())
        self.notify("bridge_destroyed", bridge=b)

    # ---- restart --------------------------------------------------------------------

    def lose_everything(self) -> tuple[int, int]:
        """A restart: every channel and bridge disappears without events.

        Returns how many channels and bridges were lost."""
        lost = len(self.channels), len(self.bridges)
        for ch in list(self.channels.values()):
            ch.cancel_timers()
            ch.gone = True
            if ch.agi is not None:
                ch.agi.channel_gone()
        self.channels.clear()
        self.by_id.clear()
        self.bridges.clear()
        self.globals.clear()
        self.started = time.time()
        return lost


_ARI_KINDS = {
    "Newstate": "state", "VarSet": "varset", "NewCallerid": "callerid",
    "NewConnectedLine": "connected", "SoftHangupRequest": "hangup_request",
    "HangupRequest": "hangup_request",
}
