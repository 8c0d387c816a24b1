"""The FastAGI side of the simulated Asterisk.

When the dialplan reaches ``AGI(agi://host:port/script,args)`` the simulator connects to
that server, sends the ``agi_*`` environment (LF line ends, a bare LF at the end) and
answers each command line. When the channel hangs up it sends the unsolicited
``HANGUP`` line. Like real Asterisk it never closes the socket itself: the channel (and
its Hangup event) stays until the server closes. AGISTATUS is SUCCESS when the server
closes while the channel is up (the dialplan then continues: here, it hangs up),
HANGUP after a hangup, and FAILURE when nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import shlex
from urllib.parse import urlsplit

from dialer.sim.carrier import SHIPPED, CarrierProfile
from dialer.sim.channels import Channel
from dialer.sim.model import CalleeModel
from dialer.sim.parties import Parties, WrapupHook
from dialer.sim.sounds import sound_seconds

log = logging.getLogger(__name__)
_VAR = re.compile(r"\$\{([^}]+)\}")
SAMPLE_RATE = 8000


class AgiSession:
    """One FastAGI connection for one channel."""

    def __init__(self, pbx: AgiPbx, ch: Channel, url: str, args: list[str]) -> None:
        self.pbx, self.ch, self.url, self.args = pbx, ch, url, args
        self.writer: asyncio.StreamWriter | None = None
        self.hung_up = False
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.hangup_event = asyncio.Event()
        self.pending_destroy: int | None = None
        self.then_stasis: list[str] | None = None
        self.busy = False

    # ---- called by the PBX ----------------------------------------------------------

    def channel_gone(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        self.hangup_event.set()
        if not self.busy:  # otherwise it follows the reply being prepared
            self._say_hangup()

    def _say_hangup(self) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(b"HANGUP\n")

    def dtmf(self, digit: str) -> None:
        self.digits.put_nowait(digit)

    # ---- the session ----------------------------------------------------------------

    async def run(self) -> None:
        parts = urlsplit(self.url)
        try:
            reader, writer = await asyncio.open_connection(parts.hostname or "127.0.0.1",
                                                           parts.port or 4573)
        except OSError:
            self.pbx.agi_finished(self.ch, "FAILURE")
            return
        self.writer = writer
        try:
            writer.write(self._environment(parts.path.lstrip("/")))
            while line := await reader.readline():
                await self._command(line.decode(errors="replace").strip())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        self.pbx.agi_finished(self.ch, "HANGUP" if self.hung_up else "SUCCESS")

    def _environment(self, script: str) -> bytes:
        ch = self.ch
        cid = ch.cid_num if ch.cid_num != "<unknown>" else "unknown"
        cname = ch.cid_name if ch.cid_name != "<unknown>" else "unknown"
        env = [("network", "yes"), ("network_script", script), ("request", self.url),
               ("channel", ch.name), ("language", "en"), ("type", ch.name.split("/")[0]),
               ("uniqueid", ch.uniqueid), ("version", "22.10.1"), ("callerid", cid),
               ("calleridname", cname), ("callingpres", "67"), ("callingani2", "0"),
               ("callington", "0"), ("callingtns", "0"), ("dnid", "unknown"),
               ("rdnis", "unknown"), ("context", ch.context), ("extension", ch.exten),
               ("priority", str(ch.priority)), ("enhanced", "0.0"), ("accountcode", ""),
               ("threadid", str(random.getrandbits(47)))]
        env += [(f"arg_{i}", a) for i, a in enumerate(self.args, 1)]
        return ("".join(f"agi_{k}: {v}\n" for k, v in env) + "\n").encode()

    async def _command(self, line: str) -> None:
        if not line:
            return
        cid = str(random.randint(1, 2**31 - 1))
        if not self.hung_up:
            self.pbx.chan_event("AGIExecStart", self.ch, [("CommandId", cid), ("Command", line)],
                                priv="agi,all")
        self.busy = True
        hung_before = self.hung_up
        try:
            reply = await self._reply(line)
        finally:
            self.busy = False
        assert self.writer is not None
        self.writer.write(reply.encode() + b"\n")
        if self.hung_up and not hung_before:
            self._say_hangup()
        code = reply.split(" ", 1)[0]
        if not self.hung_up:
            ok = code == "200" and "result=-1" not in reply
            self.pbx.chan_event("AGIExecEnd", self.ch, [
                ("CommandId", cid), ("Command", line),
                ("ResultCode", code if ok or code != "200" else "-1"),
                ("Result", "Success" if ok else (
                    "Failure" if code == "200" else "Invalid or unknown command"))],
                priv="agi,all")
        if line.upper() == "HANGUP" and not self.hung_up:
            self.pbx.hangup(self.ch)

    async def _reply(self, line: str) -> str:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        upper = [w.upper() for w in words]
        handler = _COMMANDS.get(" ".join(upper[:3])) or _COMMANDS.get(" ".join(upper[:2])) \
            or _COMMANDS.get(upper[0] if upper else "")
        if handler is None:
            return "510 Invalid or unknown command"
        return await handler(self, words)

    # ---- commands -------------------------------------------------------------------

    async def answer(self, words: list[str]) -> str:
        if self.ch.state != 6 and not self.hung_up:
            self.pbx.set_state(self.ch, 6)
        return "200 result=0" if not self.hung_up else "200 result=-1"

    async def get_variable(self, words: list[str]) -> str:
        value = self._var(words[2]) if len(words) > 2 else None
        return f"200 result=1 ({value})" if value is not None else "200 result=0"

    async def get_full_variable(self, words: list[str]) -> str:
        expr = " ".join(words[3:])
        return f"200 result=1 ({_VAR.sub(lambda m: self._var(m.group(1)) or '', expr)})"

    def _var(self, name: str) -> str | None:
        if name == "CHANNEL":
            return self.ch.name
        if name == "UNIQUEID":
            return self.ch.uniqueid
        return self.ch.variables.get(name)

    async def set_variable(self, words: list[str]) -> str:
        if len(words) < 4:
            return "520 Invalid command syntax.  Proper usage not available."
        self.pbx.setvar(self.ch, words[2], words[3], event=not self.hung_up)
        return "200 result=1"

    async def channel_status(self, words: list[str]) -> str:
        return f"200 result={self.ch.state if not self.hung_up else 0}"

    async def ok1(self, words: list[str]) -> str:
        return "200 result=1"

    async def ok0(self, words: list[str]) -> str:
        return "200 result=0"

    async def stream_file(self, words: list[str]) -> str:
        escape = words[3] if len(words) > 3 else ""
        secs = sound_seconds(words[2]) if len(words) > 2 else None
        if secs is None:
            return "200 result=-1 endpos=0"
        self._record_play(words[2])
        digit, played = await self._play(secs, escape)
        endpos = int(played * SAMPLE_RATE)
        if digit == "-1":
            return f"200 result=-1 endpos={endpos}"
        return f"200 result={ord(digit) if digit else 0} endpos={endpos}"

    async def _play(self, secs: float, escape: str) -> tuple[str, float]:
        """Play ``secs``; returns (digit pressed or "" or "-1" on hangup, seconds played)."""
        if self.hung_up:
            return "-1", 0.0
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.pbx.heard_message(self.ch)
        try:
            digit = await asyncio.wait_for(self._next_digit(escape), secs / self.pbx.speed)
        except TimeoutError:
            digit = "-1" if self.hung_up else ""
        played = min((loop.time() - start) * self.pbx.speed, secs)
        return digit, played

    async def _next_digit(self, escape: str) -> str:
        while True:
            get = asyncio.ensure_future(self.digits.get())
            gone = asyncio.ensure_future(self.hangup_event.wait())
            try:
                done, _ = await asyncio.wait({get, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:  # a timeout cancels us: no orphan may swallow a later digit
                get.cancel()
                gone.cancel()
            if get not in done:
                return "-1"
            if (d := get.result()) in escape:
                return d

    def _record_play(self, media: str) -> None:
        if not self.hung_up:
            ch_id = self.ch.ari_id
            self.pbx.record.add("play", target=f"channel:{ch_id}", media=[media],
                                playback=None, via="agi", heard_by=[ch_id])

    async def wait_for_digit(self, words: list[str]) -> str:
        ms = float(words[3]) if len(words) > 3 else 0.0
        digit, _ = await self._play(ms / 1000, "0123456789*#")
        return f"200 result={ord(digit) if digit and digit != '-1' else (-1 if digit else 0)}"

    async def get_data(self, words: list[str]) -> str:
        secs = sound_seconds(words[2]) if len(words) > 2 else None
        timeout = float(words[3]) / 1000 if len(words) > 3 else 5.0
        maxd = int(words[4]) if len(words) > 4 else 1024
        got = ""
        if secs is not None:
            self._record_play(words[2])
        digit, _ = await self._play(secs or 0.0, "0123456789*#")
        if digit == "-1":
            return "200 result=-1"
        got += digit
        while len(got) < maxd:
            d, _ = await self._play(timeout, "0123456789*#")
            if d in ("", "-1", "#"):
                break
            got += d
        return f"200 result={got}" if got else "200 result= (timeout)"

    async def exec_app(self, words: list[str]) -> str:
        if len(words) > 2 and words[1].lower() == "playback":
            secs = sound_seconds(words[2])
            if secs is not None:
                self._record_play(words[2])
                await self._play(secs, "")
        return "200 result=0"


_COMMANDS = {
    "ANSWER": AgiSession.answer, "GET VARIABLE": AgiSession.get_variable,
    "GET FULL VARIABLE": AgiSession.get_full_variable, "SET VARIABLE": AgiSession.set_variable,
    "CHANNEL STATUS": AgiSession.channel_status, "VERBOSE": AgiSession.ok1,
    "STREAM FILE": AgiSession.stream_file, "EXEC": AgiSession.exec_app,
    "DATABASE PUT": AgiSession.ok1, "DATABASE GET": AgiSession.ok0, "NOOP": AgiSession.ok0,
    "HANGUP": AgiSession.ok1, "WAIT FOR DIGIT": AgiSession.wait_for_digit,
    "GET DATA": AgiSession.get_data, "SAY DIGITS": AgiSession.ok0,
    "SAY NUMBER": AgiSession.ok0, "SET CONTEXT": AgiSession.ok0,
    "SET EXTENSION": AgiSession.ok0, "SET PRIORITY": AgiSession.ok0,
}


class AgiPbx(Parties):
    """Parties plus the FastAGI client."""

    def __init__(self, *, model: CalleeModel | None = None, speed: float = 1.0,
                 app_name: str = "dialer", optout_digit: str = "9",
                 on_wrapup_done: WrapupHook | None = None,
                 agi_url: str = "agi://127.0.0.1:4573/amd",
                 carrier: CarrierProfile = SHIPPED) -> None:
        super().__init__(model=model, speed=speed, app_name=app_name,
                         optout_digit=optout_digit, on_wrapup_done=on_wrapup_done,
                         carrier=carrier)
        self.agi_url = agi_url
        self.agi_tasks: set[asyncio.Task[None]] = set()

    def run_agi(self, ch: Channel, script: str, args: list[str], *,
                then_stasis: list[str] | None = None) -> None:
        netloc = ch.variables.get("DIALER_AGI") or urlsplit(self.agi_url).netloc
        url = f"agi://{netloc}/{script}"
        ch.application, ch.app_data = "AGI", ",".join([url, *args])
        session = AgiSession(self, ch, url, args)
        session.then_stasis = then_stasis
        ch.agi = session
        task = asyncio.get_running_loop().create_task(session.run())
        self.agi_tasks.add(task)
        task.add_done_callback(self._agi_done)

    def _agi_done(self, task: asyncio.Task[None]) -> None:
        self.agi_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("FastAGI session failed: %r", task.exception())

    def destroy(self, ch: Channel, cause: int) -> None:
        session = ch.agi
        if isinstance(session, AgiSession) and session.writer is not None:
            session.pending_destroy = cause
            session.channel_gone()  # the Hangup waits until the server closes
            return
        super().destroy(ch, cause)

    def agi_finished(self, ch: Channel, status: str) -> None:
        session = ch.agi
        ch.agi = None
        if ch.gone:
            return
        self.setvar(ch, "AGISTATUS", status)
        pending = session.pending_destroy if isinstance(session, AgiSession) else None
        if pending is not None:
            self.destroy(ch, pending)
        else:
            self.after_agi(ch, session.then_stasis if isinstance(session, AgiSession) else None)

    async def close_agi(self) -> None:
        for task in list(self.agi_tasks):
            task.cancel()
        for task in list(self.agi_tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
