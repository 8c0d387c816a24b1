"""SimAsterisk: one simulated PBX served over AMI, ARI and FastAGI, plus the fault API.

In-process use (tests, the demo)::

    async with SimAsterisk(seed=1, speed=20).running(ami_port=0, ari_port=0) as sim:
        reader, writer = await asyncio.open_connection(sim.host, sim.ami_port)
        ...
        sim.drop_ami()          # every AMI socket is cut
        await sim.restart()     # every channel is lost
        sim.record.lines        # what happened, one JSON line each (dialer.sim.record)

With ``record_file`` the record is also appended to that file as it happens. The same
fault API answers over HTTP under ``/_sim/`` on the ARI port (:mod:`dialer.sim.control`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dialer.sim.agi import AgiPbx
from dialer.sim.ami import AmiServer
from dialer.sim.ami_actions import AmiActions
from dialer.sim.carrier import SHIPPED, CarrierProfile
from dialer.sim.model import CalleeModel, DigitModel
from dialer.sim.parties import WrapupHook
from dialer.sim.record import DEFAULT_LIMIT, SimRecord


class SimAsterisk:
    """The simulated Asterisk. Construct, then ``async with sim.running(...)``."""

    def __init__(self, *, seed: int = 0, speed: float = 1.0, model: CalleeModel | None = None,
                 username: str = "dialer", secret: str = "dialer-secret",
                 app_name: str = "dialer", agi_url: str = "agi://127.0.0.1:4573/amd",
                 optout_digit: str = "9", on_wrapup_done: WrapupHook | None = None,
                 login_fail_delay_s: float = 1.0, record_file: str | Path | None = None,
                 record_limit: int = DEFAULT_LIMIT, carrier: CarrierProfile = SHIPPED) -> None:
        model = model if model is not None else DigitModel(seed, carrier=carrier)
        self.pbx = AgiPbx(model=model, speed=speed, app_name=app_name,
                          optout_digit=optout_digit, on_wrapup_done=on_wrapup_done,
                          agi_url=agi_url, carrier=carrier)
        self.pbx.record = SimRecord(record_limit)
        self.record_file = Path(record_file) if record_file is not None else None
        self.seed = seed
        self._started = False  # a start line was recorded
        self.username, self.secret = username, secret
        self.ami = AmiServer(self.pbx, AmiActions(self.pbx).table(), username=username,
                             secret=secret, fail_delay_s=login_fail_delay_s)
        self.ari: Any = None
        self.host = "127.0.0.1"
        self.ari_host = "127.0.0.1"

    # ---- configuration ----------------------------------------------------------------

    @property
    def speed(self) -> float:
        return self.pbx.speed

    @property
    def app_name(self) -> str:
        return self.pbx.app_name

    @app_name.setter
    def app_name(self, value: str) -> None:
        self.pbx.app_name = value

    @property
    def agi_url(self) -> str:
        return self.pbx.agi_url

    @agi_url.setter
    def agi_url(self, value: str) -> None:
        self.pbx.agi_url = value

    @property
    def on_wrapup_done(self) -> WrapupHook:
        return self.pbx.on_wrapup_done

    @on_wrapup_done.setter
    def on_wrapup_done(self, hook: WrapupHook) -> None:
        self.pbx.on_wrapup_done = hook

    @property
    def ami_port(self) -> int:
        return self.ami.port

    @property
    def ari_port(self) -> int:
        return int(self.ari.port) if self.ari is not None else 0

    @property
    def ari_url(self) -> str:
        return f"http://{self.ari_host}:{self.ari_port}/ari"

    @property
    def control_url(self) -> str:
        """The control API (``/_sim``) on the ARI port."""
        return f"http://{self.ari_host}:{self.ari_port}/_sim"

    @property
    def record(self) -> SimRecord:
        return self.pbx.record

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", ami_port: int | None = 5038,
                    ari_port: int | None = 8088, *, ari_host: str | None = None) -> None:
        """Listen for AMI on ``host`` and ARI on ``ari_host`` (default: the same host);
        a port of None leaves that side off, 0 picks a free port."""
        self.host = host
        self.ari_host = ari_host or host
        if self.record_file is not None:
            self.record.open(self.record_file)
        if ami_port is not None:
            await self.ami.start(host, ami_port)
        if ari_port is not None:
            from dialer.sim.ari import AriServer
            from dialer.sim.control import SimControl

            self.ari = AriServer(self.pbx, username=self.username, secret=self.secret,
                                 control=SimControl(self))
            await self.ari.start(self.ari_host, ari_port)
        self.record.add("start", pid=os.getpid(), host=self.host,
                        ami_port=self.ami_port if ami_port is not None else None,
                        ari_host=self.ari_host,
                        ari_port=self.ari_port if ari_port is not None else None,
                        speed=self.speed, seed=self.seed)
        self._started = True

    async def stop(self) -> None:
        await self.ami.close()
        if self.ari is not None:
            await self.ari.close()
        channels, bridges = self.pbx.lose_everything()
        if self._started:
            self.record.add("stop", lost_channels=channels, lost_bridges=bridges)
            self._started = False
        self.record.close()
        await self.pbx.close_agi()
        for task in list(self.pbx.hook_tasks):
            task.cancel()
        for task in list(self.pbx.hook_tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1", ami_port: int | None = 0,
                      ari_port: int | None = 0) -> AsyncIterator[SimAsterisk]:
        await self.start(host, ami_port, ari_port)
        try:
            yield self
        finally:
            await self.stop()

    # ---- fault API --------------------------------------------------------------------

    def drop_ami(self) -> int:
        """Cut every AMI connection at once (no Goodbye); returns how many."""
        sessions = list(self.ami.sessions)
        for s in sessions:
            s.abort()
        self.record.add("fault", name="drop_ami", count=len(sessions))
        return len(sessions)

    def drop_ari_websockets(self) -> int:
        """Cut every ARI WebSocket; returns how many."""
        count = self.ari.drop_websockets() if self.ari is not None else 0
        self.record.add("fault", name="drop_ari", count=count)
        return count

    def stall(self, seconds: float) -> None:
        """Hold every AMI reply and event, and every ARI reply, for ``seconds``."""
        self.record.add("fault", name="stall", seconds=seconds)
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        self.ami.faults.stall_until = until
        self.ami.schedule_release(next(iter(self.ami.sessions), None))  # type: ignore[arg-type]
        if self.ari is not None:
            self.ari.stall_until = until

    async def refuse_connections(self, refuse: bool = True) -> None:
        """Stop (or resume) accepting new AMI and ARI connections."""
        self.record.add("fault", name="refuse", on=refuse)
        if refuse:
            await self.ami.stop_listening()
            if self.ari is not None:
                self.ari.refuse = True
            return
        if self.ami.server is None:
            await self.ami.start(self.host, self.ami.port)
        if self.ari is not None:
            self.ari.refuse = False

    async def restart(self) -> tuple[int, int]:
        """Like an Asterisk restart: all sockets drop and every channel is lost.

        Returns how many channels and bridges were lost."""
        self.record.add("fault", name="restart")
        for s in list(self.ami.sessions):
            s.abort()
        if self.ari is not None:
            self.ari.drop_websockets()
        channels, bridges = self.pbx.lose_everything()
        self.record.add("restart", lost_channels=channels, lost_bridges=bridges)
        await self.pbx.close_agi()
        return channels, bridges

    def channel_count(self) -> int:
        return len(self.pbx.channels)

    @property
    def errors(self) -> list[Exception]:
        """Failures inside the simulator's own timers, and a failed write of the record
        file (empty when all is well)."""
        if self.record.error is not None:
            return [*self.pbx.errors, self.record.error]
        return self.pbx.errors
