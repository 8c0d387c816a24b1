"""Placing calls: dial strings, Local channel pairs, ringing, answer and failure flows.

The event order of each outcome follows the recorded traces (Newchannel ;1/;2, VarSet
on ;1 in reverse header order then on ;2 in header order, LocalBridge, DialBegin, ...).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from dialer.sim.channels import Channel
from dialer.sim.model import CalleeModel, CalleePlan, DigitModel, Outcome
from dialer.sim.pbx import Pbx

CARRIER_CONTEXTS = frozenset({"carrier-sim", "dialer-test-carrier", "carrier-sim-quiet"})
AGENT_CONTEXT = "agents"
_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


@dataclass
class OriginateResult:
    success: bool
    reason: int  # AMI OriginateResponse Reason: 4 answered, 5 busy, 3 no answer, 8, 0
    channel: Channel | None = None


@dataclass
class OriginateRequest:
    """One call to place; ``on_result`` is told the outcome once."""

    dial: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    variables: list[tuple[str, str]] = field(default_factory=list)
    callerid: str = ""
    timeout_s: float = 30.0
    channel_id: str = ""
    other_channel_id: str = ""
    app: str = ""
    app_args: list[str] = field(default_factory=list)
    on_result: Callable[[OriginateResult], None] | None = None
    sync: bool = False
    created_only: bool = False  # ARI /channels/create: dialled later by /dial
    done: bool = False
    via: str = ""  # "ami" or "ari", for the record
    action_id: str | None = None  # the AMI ActionID, for the record

    def report(self, result: OriginateResult) -> None:
        if not self.done and self.on_result is not None:
            self.done = True
            self.on_result(result)


@dataclass(frozen=True)
class DialTarget:
    tech: str  # "Local" or "PJSIP"
    resource: str  # exten (Local) or endpoint (PJSIP)
    context: str  # Local context, "" for PJSIP

    @property
    def dial_string(self) -> str:
        return f"{self.resource}@{self.context}" if self.context else self.resource

    @property
    def is_agent(self) -> bool:
        return self.context == AGENT_CONTEXT or (
            self.tech == "PJSIP" and self.resource.startswith("agent"))


def parse_dial(dial: str) -> DialTarget | None:
    """``Local/123@ctx[/n]`` or ``PJSIP/endpoint[@...]``; None for other technologies."""
    tech, sep, rest = dial.partition("/")
    if not sep or not rest:
        return None
    if tech.lower() == "local":
        exten, at, ctx = rest.split("/")[0].partition("@")
        return DialTarget("Local", exten, ctx if at else "default")
    if tech.upper() in ("PJSIP", "SIP"):
        return DialTarget("PJSIP", rest, "")
    return None


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <num>`` -> (num, name)."""
    m = _CALLERID.match(text)
    if m:
        return m.group(2), m.group(1).strip() or "<unknown>"
    return text.strip(), "<unknown>"


def number_of(target: DialTarget) -> str:
    return target.resource.split("@")[0]


def _attempt(req: OriginateRequest) -> str | None:
    """The engine's attempt id (channel variable DIALER_ATTEMPT), if it set one."""
    return next((v for k, v in req.variables if k == "DIALER_ATTEMPT"), None)


class Calls(Pbx):
    """Origination on top of the PBX core."""

    def __init__(self, *, model: CalleeModel | None = None, speed: float = 1.0) -> None:
        super().__init__(speed=speed)
        self.model: CalleeModel = model if model is not None else DigitModel(0)
        self.known_contexts: set[str] = set(CARRIER_CONTEXTS) | {AGENT_CONTEXT}
        self.undialed: dict[Channel, tuple[DialTarget, OriginateRequest]] = {}

    # ---- creation -------------------------------------------------------------------

    def originate(self, req: OriginateRequest, *, dial_now: bool = True) -> Channel | None:
        """Create the channel(s) and, unless ``dial_now`` is false, dial at once.

        Returns the originated channel, or None when the technology is unknown.
        """
        target = parse_dial(req.dial)
        if target is None:
            self.refused(req, "unknown technology")
            req.report(OriginateResult(False, 0))
            return None
        known = target.tech != "Local" or target.context in self.known_contexts
        one, two = self._create(target, req, known)
        if not known:
            self.refused(req, f"no such context {target.context!r}")
            assert two is not None
            self.destroy(two, 0)
            self.destroy(one, 0)
            req.report(OriginateResult(False, 0))
            return one
        self.undialed[one] = (target, req)
        if dial_now:
            self.dial(one)
        return one

    def dial(self, one: Channel) -> None:
        """Dial a channel made by :meth:`originate` with ``dial_now=False``."""
        target, req = self.undialed.pop(one)
        two = one.peer
        self._dial_begin(one, target)
        if req.created_only:
            one.dialstring = ""  # after ARI /dial only the first Dial event names it
        plan = self._plan(target, two or one)
        one.number = number_of(target)
        if target.is_agent:
            one.agent_name = one.number
        self._record_originate(one, req, target, plan)
        one.plan = plan
        if two is not None:
            two.plan = plan
        self._start_far(one, two, plan, req, target.is_agent)

    def _record_originate(self, one: Channel, req: OriginateRequest, target: DialTarget,
                          plan: CalleePlan) -> None:
        self.record.add(
            "originate", id=one.ari_id, dial=req.dial, number=one.number, via=req.via,
            action_id=req.action_id, attempt=_attempt(req), agent=target.is_agent,
            outcome="agent" if target.is_agent else plan.outcome.value, accepted=True,
            reason=None)

    def refused(self, req: OriginateRequest, reason: str) -> None:
        """Record an Originate that placed no call, and why."""
        target = parse_dial(req.dial)
        self.record.add(
            "originate", id=req.channel_id or None, dial=req.dial,
            number=number_of(target) if target is not None else None, via=req.via,
            action_id=req.action_id, attempt=_attempt(req),
            agent=target is not None and target.is_agent, outcome=None, accepted=False,
            reason=reason)

    def _create(self, target: DialTarget, req: OriginateRequest,
                known: bool) -> tuple[Channel, Channel | None]:
        uid = req.channel_id or self.new_uniqueid()
        seq = self.new_seq()
        ctx = target.context or "default"
        exten = number_of(target) if target.tech == "Local" else "s"
        if target.tech == "PJSIP":
            one = Channel(f"PJSIP/{target.resource.split('@')[0]}-{seq}", uid, uid, ctx, exten)
            self.add(one)
            self._init_channel(one, None, req, known)
            return one, None
        base = f"Local/{target.dial_string}-{seq}"
        one = Channel(base + ";1", uid, uid, ctx, exten)
        uid2 = req.other_channel_id or (f"{uid};2" if req.channel_id else self.new_uniqueid())
        two = Channel(base + ";2", uid2, uid, ctx, exten, state=4, is_one=False)
        one.peer, two.peer = two, one
        two.application, two.app_data = "", ""
        self.add(one)
        self.add(two)
        self._init_channel(one, two, req, known)
        return one, two

    def _init_channel(self, one: Channel, two: Channel | None, req: OriginateRequest,
                      known: bool) -> None:
        self.newchannel(one)
        if two is not None:
            self.newchannel(two)
            if req.app and not req.created_only:
                two.ari_apps.add(req.app)
        for name, value in reversed(req.variables):
            self.setvar(one, name, value)
        cid = parse_callerid(req.callerid) if req.callerid else None
        if cid:
            self.set_callerid(one, *cid)
            self.set_connected(one, *cid)
        if req.app:
            one.ari_apps.add(req.app)
        if two is None or not known:
            return
        for name, value in req.variables:
            self.setvar(two, name, value)
        if cid:
            two.conn_num, two.conn_name = cid
            self.set_callerid(two, *cid)
            self.set_connected(two, *cid)
        self.emit("LocalBridge", "call,all", [
            *one.snapshot("LocalOne"), *two.snapshot("LocalTwo"),
            ("Context", two.context), ("Exten", two.exten), ("LocalOptimization", "Yes")])

    def _dial_begin(self, one: Channel, target: DialTarget) -> None:
        one.dialstring = target.dial_string
        self.emit("DialBegin", "call,all",
                  [*one.snapshot("Dest"), ("DialString", target.dial_string)])
        self.notify("dial", channel=one, dialstatus="")

    def _dial_status(self, event: str, one: Channel, status: str) -> None:
        self.emit(event, "call,all", [*one.snapshot("Dest"), ("DialStatus", status)])
        self.notify("dial", channel=one, dialstatus=status)

    def _plan(self, target: DialTarget, far: Channel) -> CalleePlan:
        if target.is_agent:
            return CalleePlan(Outcome.HUMAN, 0.0, talk_s=float("inf"))
        plan = self.model.plan(number_of(target), time.time() - self.started)
        ring = self.chan_var(far, "SIM_RING")
        if ring and ring.replace(".", "", 1).isdigit() and plan.answers:
            plan = replace(plan, ring_s=float(ring))
        return plan

    def dial_cancelled(self, one: Channel) -> None:
        self.notify("dial", channel=one, dialstatus="NOANSWER")

    def forget(self, ch: Channel) -> None:
        self.undialed.pop(ch, None)
        super().forget(ch)

    # ---- the far end ----------------------------------------------------------------

    def _start_far(self, one: Channel, two: Channel | None, plan: CalleePlan,
                   req: OriginateRequest, agent: bool) -> None:
        far = two or one
        if agent:
            far.role = "agent-phone"
            one.role = "agent"
            self._answer(one, two, req)
            return
        one.role = "customer"
        far.role = "callee"
        if plan.outcome is Outcome.BUSY:
            self.later(one, plan.ring_s, lambda: self._busy(one, two, req, 17))
            return
        if plan.outcome is Outcome.CONGESTION:
            self.later(one, plan.ring_s, lambda: self._congestion(one, two, req))
            return
        self.set_state(one, 5)
        self._dial_status("DialState", one, "RINGING")
        if plan.answers and plan.ring_s < req.timeout_s:
            self.later(one, plan.ring_s, lambda: self._answer(one, two, req))
        else:
            self.later(one, req.timeout_s, lambda: self._no_answer(one, two, req))

    def _busy(self, one: Channel, two: Channel | None, req: OriginateRequest, cause: int) -> None:
        if req.sync:  # the traces show the other order for a synchronous Originate
            self._rejected(one, two, req, "BUSY", 5, 17)
            return
        self.set_state(two or one, 7)
        self._dial_status("DialEnd", one, "BUSY")
        self._fail_pair(one, two, req, 5, cause)

    def _congestion(self, one: Channel, two: Channel | None, req: OriginateRequest) -> None:
        if req.app:  # the order seen over ARI
            self.set_state(two or one, 7)
            self._dial_status("DialEnd", one, "CONGESTION")
            self._fail_pair(one, two, req, 8, 34)
            return
        self._rejected(one, two, req, "CONGESTION", 8, 34)

    def _rejected(self, one: Channel, two: Channel | None, req: OriginateRequest,
                  status: str, reason: int, cause: int) -> None:
        self._dial_status("DialEnd", one, status)
        if two is None:
            self._fail_pair(one, None, req, reason, cause)
            return
        self.chan_event("HangupRequest", two, [("Cause", "0")])
        req.report(OriginateResult(False, reason))
        self.destroy(one, 0)
        self.set_state(two, 7)
        self.chan_event("SoftHangupRequest", two, [("Cause", "16")])
        self.destroy(two, cause)

    def _fail_pair(self, one: Channel, two: Channel | None, req: OriginateRequest,
                   reason: int, cause: int) -> None:
        if two is None:
            req.report(OriginateResult(False, reason))
            self.destroy(one, cause)
            return
        self.chan_event("HangupRequest", two, [("Cause", "0")])
        req.report(OriginateResult(False, reason))
        self.destroy(one, 0)
        self.chan_event("SoftHangupRequest", two, [("Cause", "16")])
        self.destroy(two, cause)

    def _no_answer(self, one: Channel, two: Channel | None, req: OriginateRequest) -> None:
        if two is not None:
            self.chan_event("HangupRequest", two, [("Cause", "19")])
        req.report(OriginateResult(False, 3))
        if two is not None:
            self.chan_event("SoftHangupRequest", two, [("Cause", "16")])
            self.destroy(two, 19)
        self.destroy(one, 19)

    def _answer(self, one: Channel, two: Channel | None, req: OriginateRequest) -> None:
        self.record.add("answer", id=one.ari_id, number=one.number, agent=one.role == "agent")
        if two is not None:
            self.set_state(two, 6)
            two.answered_at = time.monotonic()
        self.set_state(one, 6)
        one.answered_at = time.monotonic()
        self._dial_status("DialEnd", one, "ANSWER")
        req.report(OriginateResult(True, 4, one))
        if two is not None:
            self.far_answered(two)
        if one.stasis_app is None:
            self.run_target(one, req)

    # ---- hooks for the dialplan layer ----------------------------------------------------

    def far_answered(self, far: Channel) -> None:
        """The called party picked up (``far`` is the ;2 half)."""

    def run_target(self, one: Channel, req: OriginateRequest) -> None:
        """Where the answered ;1 channel goes (dialplan, application or Stasis)."""

