"""The tiny dialplan: what answered channels and called parties do.

Contexts mirror ``asterisk-config/extensions.conf``:

* ``dialer-amd``: exten ``s`` picks by ``DIALER_MODE`` (``event``, ``agi``, otherwise
  Stasis); ``amd-event`` runs AMD() then ``UserEvent(AMDResult,...)`` and waits
  ``DIALER_HOLD`` seconds; ``amd-stasis`` runs AMD() then ``Stasis(<app>,STATUS,CAUSE)``;
  ``amd-agi`` runs AMD() then ``AGI(agi://host:port/amd,STATUS,CAUSE)``.
* ``dialer-connect``: exten ``agentN`` dials ``Local/agentN@agents`` and bridges.
* ``agents``: a simulated softphone that answers at once and stays up.
* carrier contexts: the called party follows its :class:`CalleePlan`.
"""

from __future__ import annotations

import time

from dialer.sim.channels import Channel
from dialer.sim.model import CalleeModel, Outcome
from dialer.sim.originate import AGENT_CONTEXT, Calls, OriginateRequest
from dialer.sim.sounds import sound_seconds

AMD_CONTEXT = "dialer-amd"
CONNECT_CONTEXT = "dialer-connect"
AGENT_LOGIN_CONTEXT = "dialer-agent"
AGENTS_IN_CONTEXT = "dialer-agents-in"
AMD_EXTENS = ("s", "amd-event", "amd-stasis", "amd-agi")
DIAL_VARS = ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME",
             "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS",
             "PROGRESSTIME", "PROGRESSTIME_MS")


class Dialplan(Calls):
    """Calls plus the dialplan contexts and the called parties' behaviour."""

    optout_digit = "9"  # the key a called party who wants no more calls presses

    def __init__(self, *, model: CalleeModel | None = None, speed: float = 1.0,
                 app_name: str = "dialer", default_hold_s: float = 30.0) -> None:
        super().__init__(model=model, speed=speed)
        self.app_name = app_name
        self.default_hold_s = default_hold_s
        self.ari_apps: set[str] = set()  # Stasis apps with a WebSocket connected
        self.known_contexts |= {AMD_CONTEXT, CONNECT_CONTEXT, AGENT_LOGIN_CONTEXT,
                                AGENTS_IN_CONTEXT}

    def exten_exists(self, context: str, exten: str) -> bool:
        if context == AMD_CONTEXT:
            return exten in AMD_EXTENS
        return context in self.known_contexts

    # ---- the answered ;1 channel ------------------------------------------------------

    def run_target(self, one: Channel, req: OriginateRequest) -> None:
        if req.app:
            self.enter_stasis(one, req.app, req.app_args)
        elif req.application:
            self.run_application(one, req.application, req.data)
        else:
            self.run_exten(one, req.context, req.exten)

    def run_application(self, ch: Channel, app: str, data: str) -> None:
        ch.application, ch.app_data = app, data
        if app.lower() == "wait":
            self.later(ch, _seconds(data, 0.0), lambda: self.hangup(ch))
        elif app.lower() == "hangup":
            self.hangup(ch)

    def run_exten(self, ch: Channel, context: str, exten: str) -> None:
        ch.cancel_timers()
        ch.at(context, exten, 1)
        if context == AMD_CONTEXT:
            self._amd_context(ch, exten)
        elif context == CONNECT_CONTEXT:
            self._dial_agent(ch, exten)
        elif context == AGENT_LOGIN_CONTEXT:
            self._dialplan_stasis(ch, ["agent", ch.variables.get("DIALER_AGENT", "")])
        elif context == AGENTS_IN_CONTEXT:
            self.run_agi(ch, "agent-login", [ch.cid_num], then_stasis=["agent", ch.cid_num])
        else:
            ch.application, ch.app_data = "Wait", "3600"

    def _amd_context(self, ch: Channel, exten: str) -> None:
        if exten == "s":
            mode = ch.variables.get("DIALER_MODE", "")
            exten = {"event": "amd-event", "agi": "amd-agi"}.get(mode, "amd-stasis")
        ch.at(AMD_CONTEXT, exten, 1)
        self._run_amd(ch, exten)

    def _run_amd(self, ch: Channel, exten: str) -> None:
        ch.at("dialer-amd-run", "s", 2)
        ch.application, ch.app_data = "AMD", ""
        ch.dial_started = time.monotonic()
        plan = ch.plan
        if plan is None or plan.outcome is Outcome.ANSWER_HANGUP:
            return  # AMD only ends when the far end hangs up
        status, cause = plan.amd_status or "NOTSURE", plan.amd_cause or "TOOLONG-5000"
        self.later(ch, plan.amd_s, lambda: self._amd_done(ch, exten, status, cause))

    def _amd_done(self, ch: Channel, exten: str, status: str, cause: str) -> None:
        self.record.add("amd", id=ch.ari_id, number=ch.number, status=status, cause=cause)
        self.setvar(ch, "AMDSTATUS", status)
        self.setvar(ch, "AMDCAUSE", cause)
        ms = str(int((time.monotonic() - ch.dial_started) * 1000 * self.speed))
        self.setvar(ch, "AMD_MS", ms)
        ch.at(AMD_CONTEXT, exten, 2)
        if exten == "amd-event":
            self._user_event(ch, status, cause, ms)
        elif exten == "amd-agi":
            self.run_agi(ch, "amd", [status, cause], then_stasis=[status, cause])
        else:
            self._dialplan_stasis(ch, [status, cause])

    def _user_event(self, ch: Channel, status: str, cause: str, ms: str) -> None:
        fields = [("UserEvent", "AMDResult"), ("AMDStatus", status), ("AMDCause", cause),
                  ("AMDMs", ms), ("DialerCallId", ch.variables.get("DIALER_CALL_ID", ""))]
        if "DIALER_ATTEMPT" in ch.variables:  # the shipped dialplan's extra field
            fields.append(("Attempt", ch.variables["DIALER_ATTEMPT"]))
        self.chan_event("UserEvent", ch, fields, priv="user,all")
        hold = ch.variables.get("DIALER_HOLD", "")
        if not hold:  # no hold asked: on into the Stasis app, as extensions.conf does
            self._dialplan_stasis(ch, [status, cause])
            return
        secs = _seconds(hold, self.default_hold_s)
        ch.at(AMD_CONTEXT, "amd-event", 3)
        ch.application, ch.app_data = "Wait", f"{secs:g}"
        self.later(ch, secs, lambda: self._dialplan_hangup(ch, 4))

    def _dialplan_hangup(self, ch: Channel, priority: int) -> None:
        ch.priority = priority
        ch.application, ch.app_data = "Hangup", ""
        self.hangup(ch)

    def _dialplan_stasis(self, ch: Channel, args: list[str]) -> None:
        if self.app_name in self.ari_apps:
            self.enter_stasis(ch, self.app_name, args, from_dialplan=True)
            return
        self.setvar(ch, "STASISSTATUS", "")
        self.setvar(ch, "STASISSTATUS", "FAILED")
        attempt = ch.variables.get("DIALER_ATTEMPT", "")
        if args[:1] in (["HUMAN"], ["NOTSURE"]) and attempt:
            self._nobody_there(ch, attempt)
        else:
            self._dialplan_hangup(ch, 3)

    def _nobody_there(self, ch: Channel, attempt: str) -> None:
        """extensions.conf after a failed Stasis with a person on the line (no engine is
        listening): note the abandon in a global for the engine, play the safe-harbor
        message, take the opt-out key, hang up."""
        key = f"DIALER_ABANDONED_{attempt}"
        self.globals[key] = str(int(time.time()))
        media = ch.variables.get("DIALER_SAFE_HARBOR") or "dialer/safe-harbor"
        ch.at(AMD_CONTEXT, "nobody", 1)
        ch.application, ch.app_data = "Read", f"DIALER_KEY,{media},1,,1,3"
        self.record.add("play", target=f"channel:{ch.ari_id}", media=[f"sound:{media}"],
                        playback=None, via="dialplan", heard_by=[ch.ari_id])
        plan = ch.plan
        optout = bool(plan is not None and plan.optout and self.optout_key(ch))
        secs = (sound_seconds(media) or 0.0) + (0.5 if optout else 3.0)
        self.later(ch, secs, lambda: self._nobody_done(ch, key, optout))

    def optout_key(self, ch: Channel) -> str:
        """The campaign's opt-out key, if the callee would press it (the key they press
        is ``optout_digit``)."""
        key = ch.variables.get("DIALER_OPTOUT_KEY", "")
        return key if key and key == self.optout_digit else ""

    def _nobody_done(self, ch: Channel, key: str, optout: bool) -> None:
        if optout:
            self.globals[key] += ",optout"
            self.record.add("dtmf", id=ch.ari_id, number=ch.number,
                            digits=self.optout_key(ch))
        self._dialplan_hangup(ch, 6)

    def enter_stasis(self, ch: Channel, app: str, args: list[str], *,
                     from_dialplan: bool = False) -> None:
        if app not in self.ari_apps:
            self.hangup(ch)
            return
        ch.application, ch.app_data = "Stasis", ",".join([app, *args])
        self.setvar(ch, "STASISSTATUS", "")
        ch.stasis_app = app
        ch.ari_args = list(args)
        self.notify("stasis_start", channel=ch, app=app, args=args,
                    from_dialplan=from_dialplan)

    def run_agi(self, ch: Channel, script: str, args: list[str], *,
                then_stasis: list[str] | None = None) -> None:
        """Overridden by the FastAGI layer; without a server the AGI fails."""
        self.setvar(ch, "AGISTATUS", "FAILURE")
        self.after_agi(ch, then_stasis)

    def after_agi(self, ch: Channel, then_stasis: list[str] | None) -> None:
        """The dialplan after AGI(): on into Stasis, or hang up."""
        if then_stasis is None or ch.variables.get("AGISTATUS") == "HANGUP":
            self._dialplan_hangup(ch, 3)
        else:
            self._dialplan_stasis(ch, then_stasis)

    # ---- dialer-connect: Dial(Local/agentN@agents) -------------------------------------

    def _dial_agent(self, ch: Channel, exten: str) -> None:
        """Dial(Local/agentN@agents,30) from ``ch`` and bridge the two when it answers.

        extensions.conf dials PJSIP/<exten> unless DIALER_AGENT_TECH=Local; the
        simulator's agent phones are Local channels either way.
        """
        for name in DIAL_VARS:
            self.setvar(ch, name, "")
        ch.application, ch.app_data = "Dial", f"Local/{exten}@{AGENT_CONTEXT},30"
        a1, a2 = self._agent_pair(ch, exten)
        peer_number = f"{exten}@{AGENT_CONTEXT}"
        self.emit("DialBegin", "call,all",
                  [*ch.snapshot(), *a1.snapshot("Dest"), ("DialString", peer_number)])
        self.set_state(a1, 6)
        for name, value in (("DIALSTATUS", "ANSWER"), ("DIALEDPEERNAME", a1.name),
                            ("DIALEDPEERNUMBER", peer_number)):
            self.setvar(ch, name, value)
        self.emit("DialEnd", "call,all",
                  [*ch.snapshot(), *a1.snapshot("Dest"), ("DialStatus", "ANSWER")])
        ch.dial_peer = a1
        ch.dial_started = time.monotonic()
        bridge = self.create_bridge(dissolve=True)
        self.set_state(a2, 6)
        self.enter_bridge(bridge, a1)
        self.enter_bridge(bridge, ch)
        self.set_bridgepeers(bridge)

    def _agent_pair(self, ch: Channel, exten: str) -> tuple[Channel, Channel]:
        """The Local pair of a dialled agent phone, announced as the traces show."""
        base = f"Local/{exten}@{AGENT_CONTEXT}-{self.new_seq()}"
        a1 = Channel(base + ";1", self.new_uniqueid(), ch.linkedid, AGENT_CONTEXT, exten)
        a2 = Channel(base + ";2", self.new_uniqueid(), ch.linkedid, AGENT_CONTEXT, exten,
                     state=4, is_one=False)
        a1.peer, a2.peer = a2, a1
        a1.role, a1.agent_name, a2.role = "agent", exten, "agent-phone"
        a1.number = exten
        for c in (a1, a2):
            self.add(c)
            self.newchannel(c)
        peer_number = f"{exten}@{AGENT_CONTEXT}"
        self.setvar(a1, "DIALEDPEERNUMBER", peer_number)
        self.set_callerid(a1, exten, a1.cid_name)
        self.setvar(a2, "DIALEDPEERNUMBER", peer_number)
        self.set_connected(a2, exten, a2.conn_name)
        self.emit("LocalBridge", "call,all", [
            *a1.snapshot("LocalOne"), *a2.snapshot("LocalTwo"),
            ("Context", AGENT_CONTEXT), ("Exten", exten), ("LocalOptimization", "Yes")])
        return a1, a2

    def on_dial_end(self, ch: Channel) -> None:
        secs = time.monotonic() - ch.dial_started
        for name, value in (("ANSWEREDTIME", str(int(secs))),
                            ("ANSWEREDTIME_MS", str(int(secs * 1000))),
                            ("DIALEDTIME", str(int(secs))),
                            ("DIALEDTIME_MS", str(int(secs * 1000))),
                            ("DIALSTATUS", "ANSWER")):
            self.setvar(ch, name, value)


def _seconds(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default
