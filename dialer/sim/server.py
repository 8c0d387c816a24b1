"""SimAsterisk: one simulated PBX served over AMI, ARI and FastAGI, plus the fault API.

In-process use (tests, the demo)::

    async with SimAsterisk(seed=1, speed=20).running(ami_port=0, ari_port=0) as sim:
        reader, writer = await asyncio.open_connection(sim.host, sim.ami_port)
        ...
        sim.drop_ami()          # every AMI socket is cut
        await sim.restart()     # every channel is lost
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dialer.sim.agi import AgiPbx
from dialer.sim.ami import AmiServer
from dialer.sim.ami_actions import AmiActions
from dialer.sim.model import CalleeModel, DigitModel
from dialer.sim.parties import WrapupHook


class SimAsterisk:
    """The simulated Asterisk. Construct, then ``async with sim.running(...)``."""

    def __init__(self, *, seed: int = 0, speed: float = 1.0, model: CalleeModel | None = None,
                 username: str = "dialer", secret: str = "dialer-secret",
                 app_name: str = "dialer", agi_url: str = "agi://127.0.0.1:4573/amd",
                 optout_digit: str = "9", on_wrapup_done: WrapupHook | None = None,
                 login_fail_delay_s: float = 1.0) -> None:
        self.pbx = AgiPbx(model=model if model is not None else DigitModel(seed), speed=speed,
                          app_name=app_name, optout_digit=optout_digit,
                          on_wrapup_done=on_wrapup_done, agi_url=agi_url)
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

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", ami_port: int | None = 5038,
                    ari_port: int | None = 8088, *, ari_host: str | None = None) -> None:
        """Listen for AMI on ``host`` and ARI on ``ari_host`` (default: the same host);
        a port of None leaves that side off, 0 picks a free port."""
        self.host = host
        self.ari_host = ari_host or host
        if ami_port is not None:
            await self.ami.start(host, ami_port)
        if ari_port is not None:
            from dialer.sim.ari import AriServer

            self.ari = AriServer(self.pbx, username=self.username, secret=self.secret)
            await self.ari.start(self.ari_host, ari_port)

    async def stop(self) -> None:
        await self.ami.close()
        if self.ari is not None:
            await self.ari.close()
        self.pbx.lose_everything()
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
        return len(sessions)

    def drop_ari_websockets(self) -> int:
        """Cut every ARI WebSocket; returns how many."""
        return self.ari.drop_websockets() if self.ari is not None else 0

    def stall(self, seconds: float) -> None:
        """Hold every AMI reply and event, and every ARI reply, for ``seconds``."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        self.ami.faults.stall_until = until
        self.ami.schedule_release(next(iter(self.ami.sessions), None))  # type: ignore[arg-type]
        if self.ari is not None:
            self.ari.stall_until = until

    async def refuse_connections(self, refuse: bool = True) -> None:
        """Stop (or resume) accepting new AMI and ARI connections."""
        if refuse:
            await self.ami.stop_listening()
            if self.ari is not None:
                self.ari.refuse = True
            return
        if self.ami.server is None:
            await self.ami.start(self.host, self.ami.port)
        if self.ari is not None:
            self.ari.refuse = False

    async def restart(self) -> None:
        """Like an Asterisk restart: all sockets drop and every channel is lost."""
        self.drop_ami()
        self.drop_ari_websockets()
        self.pbx.lose_everything()
        await self.pbx.close_agi()

    def channel_count(self) -> int:
        return len(self.pbx.channels)

    @property
    def errors(self) -> list[Exception]:
        """Failures inside the simulator's own timers (empty when all is well)."""
        return self.pbx.errors
