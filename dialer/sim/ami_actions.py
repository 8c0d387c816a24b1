"""AMI actions of the simulated Asterisk, with the replies the traces show."""

from __future__ import annotations

import time

from dialer.adapters.ami.protocol import Message
from dialer.sim.ami import ActionFn, AmiSession, Headers
from dialer.sim.channels import Channel
from dialer.sim.originate import OriginateRequest, OriginateResult
from dialer.sim.parties import Parties

VERSION_LINE = ("Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux "
                "on 2026-11-28 10:39:13 UTC")


def _ok(session: AmiSession, aid: Headers, *rest: tuple[str, str]) -> None:
    session.send([("Response", "Success"), *aid, *rest])


def _err(session: AmiSession, aid: Headers, message: str) -> None:
    session.send([("Response", "Error"), *aid, ("Message", message)])


def parse_variables(msg: Message) -> list[tuple[str, str]]:
    """Every ``Variable:`` header, each possibly a comma list of ``NAME=value``."""
    out: list[tuple[str, str]] = []
    for header in msg.get_all("Variable"):
        for item in header.split(","):
            name, sep, value = item.partition("=")
            if sep and name.strip():
                out.append((name.strip(), value))
    return out


def _duration(ch: Channel) -> str:
    secs = int(time.time() - ch.created)
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def _listing(pbx: Parties) -> list[Channel]:
    """Channels in the order CoreShowChannels lists them (;2 before ;1 of a pair)."""
    out: list[Channel] = []
    for ch in pbx.channels.values():
        if ch.is_one:
            if ch.peer is not None and not ch.peer.gone:
                out.append(ch.peer)
            out.append(ch)
        elif ch.peer is None or ch.peer.gone:
            out.append(ch)
    return out


class AmiActions:
    """The action table bound to one simulated PBX."""

    def __init__(self, pbx: Parties) -> None:
        self.pbx = pbx

    def table(self) -> dict[str, ActionFn]:
        return {
            "ping": self.ping, "logoff": self.logoff, "events": self.events,
            "originate": self.originate, "hangup": self.hangup, "getvar": self.getvar,
            "setvar": self.setvar, "redirect": self.redirect, "status": self.status,
            "coreshowchannels": self.core_show_channels, "command": self.command,
            "userevent": self.user_event, "bridge": self.bridge,
            "bridgelist": self.bridge_list,
        }

    # ---- session --------------------------------------------------------------------

    def ping(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        _ok(s, aid, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))

    def logoff(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        s.send([("Response", "Goodbye"), *aid, ("Message", "Thanks for all the fish.")])
        s.close()

    def events(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        mask = (msg.get("EventMask") or "on").strip().lower()
        s.events_on = mask not in ("off", "none", "0", "false", "no")
        _ok(s, aid, ("Events", "On" if s.events_on else "Off"))

    # ---- calls ----------------------------------------------------------------------

    def originate(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        dial = (msg.get("Channel") or "").strip()
        if not dial:
            _err(s, aid, "Channel not specified")
            return
        context, exten = msg.get("Context") or "", msg.get("Exten") or ""
        application = msg.get("Application") or ""
        sync = (msg.get("Async") or "").lower() not in ("true", "yes", "1")
        req = self._request(msg, dial, context, exten, application, sync)
        if not application and exten and not self.pbx.exten_exists(context, exten):
            self.pbx.refused(req, f"no extension {exten!r} in context {context!r}")
            _err(s, aid, "Extension does not exist.")
            return
        req.on_result = (lambda r: self._sync_result(s, aid, r)) if sync else (
            lambda r: self._async_result(msg, req, r))
        if not sync:
            _ok(s, aid, ("Message", "Originate successfully queued"))
        self.pbx.originate(req)

    def _request(self, msg: Message, dial: str, context: str, exten: str,
                 application: str, sync: bool) -> OriginateRequest:
        try:
            timeout = float(msg.get("Timeout") or 30000) / 1000
        except ValueError:
            timeout = 30.0
        return OriginateRequest(
            dial=dial, context=context, exten=exten, application=application,
            data=msg.get("Data") or "", variables=parse_variables(msg),
            callerid=msg.get("CallerID") or "", timeout_s=timeout,
            channel_id=msg.get("ChannelId") or "",
            other_channel_id=msg.get("OtherChannelId") or "", sync=sync, via="ami",
            action_id=msg.action_id)

    def _sync_result(self, s: AmiSession, aid: Headers, r: OriginateResult) -> None:
        if r.success:
            _ok(s, aid, ("Message", "Originate successfully queued"))
        else:
            _err(s, aid, "Originate failed")

    def _async_result(self, msg: Message, req: OriginateRequest, r: OriginateResult) -> None:
        ch = r.channel
        target = ([("Application", req.application), ("Data", req.data)] if req.application
                  else [("Context", req.context), ("Exten", req.exten)])
        cid_num, cid_name = (ch.cid_num, ch.cid_name) if ch is not None else _cid(req)
        aid = [("ActionID", msg.action_id)] if msg.action_id is not None else []
        self.pbx.emit("OriginateResponse", "call,all", [
            *aid, ("Response", "Success" if r.success else "Failure"),
            ("Channel", ch.name if ch is not None else req.dial), *target,
            ("Reason", str(r.reason)),
            ("Uniqueid", ch.uniqueid if ch is not None else "<unknown>"),
            ("CallerIDNum", cid_num), ("CallerIDName", cid_name)])

    def _channel(self, s: AmiSession, msg: Message, aid: Headers, key: str = "Channel",
                 missing: str = "No such channel") -> Channel | None:
        name = msg.get(key) or ""
        ch = self.pbx.channels.get(name)
        if ch is None:
            _err(s, aid, missing.format(name=name))
        return ch

    def hangup(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        ch = self._channel(s, msg, aid)
        if ch is None:
            return
        try:
            cause = int(msg.get("Cause") or 16)
        except ValueError:
            cause = 16
        _ok(s, aid, ("Message", "Channel Hungup"))
        self.pbx.hangup(ch, cause)

    def getvar(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        var = msg.get("Variable") or ""
        if msg.get("Channel") is None:
            _ok(s, aid, ("Variable", var), ("Value", ""))
            return
        ch = self._channel(s, msg, aid)
        if ch is not None:
            _ok(s, aid, ("Variable", var), ("Value", ch.variables.get(var, "")))

    def setvar(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        ch = self._channel(s, msg, aid)
        if ch is None:
            return
        _ok(s, aid, ("Message", "Variable Set"))
        self.pbx.setvar(ch, msg.get("Variable") or "", msg.get("Value") or "")

    def redirect(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        ch = self._channel(s, msg, aid, missing="Channel does not exist: {name}")
        if ch is None:
            return
        context, exten = msg.get("Context") or "", msg.get("Exten") or ""
        if not self.pbx.exten_exists(context, exten):
            _err(s, aid, "Extension does not exist.")
            return
        _ok(s, aid, ("Message", "Redirect successful"))
        self.pbx.run_exten(ch, context, exten)

    def bridge(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        one = self._channel(s, msg, aid, "Channel1", "Channel1 does not exist: {name}")
        two = one and self._channel(s, msg, aid, "Channel2", "Channel2 does not exist: {name}")
        if one is None or two is None:
            return
        _ok(s, aid, ("Message", "Channels have been bridged"))
        one.cancel_timers()
        b = self.pbx.create_bridge(dissolve=True)
        self.pbx.enter_bridge(b, one)
        self.pbx.enter_bridge(b, two)
        self.pbx.set_bridgepeers(b)
        self.pbx.exchange_connected_line(one, two)

    def user_event(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        name = msg.get("UserEvent") or ""
        skip = {"action", "actionid", "userevent"}
        extra = [(k, v) for k, v in msg.headers if k.lower() not in skip]
        self.pbx.emit("UserEvent", "user,all", [("UserEvent", name), *extra])
        _ok(s, aid, ("Message", "Event Sent"))

    # ---- lists ----------------------------------------------------------------------

    def core_show_channels(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        _ok(s, aid, ("EventList", "start"), ("Message", "Channels will follow"))
        items = _listing(self.pbx)
        for ch in items:
            s.send([("Event", "CoreShowChannel"), *aid, *ch.snapshot(),
                    ("Application", ch.application), ("ApplicationData", ch.app_data),
                    ("Duration", _duration(ch)),
                    ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")])
        s.send([("Event", "CoreShowChannelsComplete"), *aid, ("EventList", "Complete"),
                ("ListItems", str(len(items)))])

    def status(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        name = msg.get("Channel")
        if name:
            ch = self._channel(s, msg, aid)
            if ch is None:
                return
            items = [ch]
        else:
            items = _listing(self.pbx)
        _ok(s, aid, ("EventList", "start"), ("Message", "Channel status will follow"))
        for ch in items:
            s.send([("Event", "Status"), ("Privilege", "Call"), *ch.snapshot(),
                    *_status_fields(ch), *aid])
        s.send([("Event", "StatusComplete"), *aid, ("EventList", "Complete"),
                ("ListItems", str(len(items))), ("Items", str(len(items)))])

    def bridge_list(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        _ok(s, aid, ("EventList", "start"), ("Message", "Bridge listing will follow"))
        bridges = list(self.pbx.bridges.values())
        for b in bridges:
            s.send([("Event", "BridgeListItem"), *aid, *b.snapshot()])
        s.send([("Event", "BridgeListComplete"), *aid, ("EventList", "Complete"),
                ("ListItems", str(len(bridges)))])

    def command(self, s: AmiSession, msg: Message, aid: Headers) -> None:
        cmd = " ".join((msg.get("Command") or "").split()).lower()
        if cmd == "core show version":
            lines = [VERSION_LINE]
        elif cmd == "core show channels concise":
            lines = [_concise(ch) for ch in _listing(self.pbx)]
        elif cmd == "core show channels count":
            n = len(self.pbx.channels)
            lines = [f"{n} active channels", f"{n // 2} active calls"]
        else:
            words = " ".join(cmd.split()[:2])
            s.send([("Response", "Error"), *aid, ("Message", "Command output follows"),
                    ("Output", f"No such command '{cmd}' (type 'core show help {words}' "
                               "for other possible commands)")])
            return
        _ok(s, aid, ("Message", "Command output follows"), *[("Output", x) for x in lines])


def _cid(req: OriginateRequest) -> tuple[str, str]:
    from dialer.sim.originate import parse_callerid

    return parse_callerid(req.callerid) if req.callerid else ("<unknown>", "<unknown>")


def _status_fields(ch: Channel) -> Headers:
    return [("Type", ch.name.split("/")[0]), ("DNID", ""),
            ("EffectiveConnectedLineNum", ch.conn_num),
            ("EffectiveConnectedLineName", ch.conn_name), ("TimeToHangup", "0"),
            ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
            ("Application", ch.application), ("Data", ch.app_data),
            ("Nativeformats", "(slin)"), ("Readformat", "slin"), ("Readtrans", ""),
            ("Writeformat", "slin"), ("Writetrans", ""), ("Callgroup", "0"),
            ("Pickupgroup", "0"), ("Seconds", str(int(time.time() - ch.created)))]


def _concise(ch: Channel) -> str:
    secs = int(time.time() - ch.created)
    bridge = ch.bridge.uniqueid if ch.bridge else ""
    return "!".join([ch.name, ch.context, ch.exten, str(ch.priority), ch.state_desc,
                     ch.application, ch.app_data, ch.cid_num if ch.cid_num != "<unknown>"
                     else "", "", "", "3", str(secs), bridge, ch.uniqueid])
