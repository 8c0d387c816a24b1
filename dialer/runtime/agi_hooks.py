"""The engine's FastAGI hooks (`asterisk-config/extensions.conf`):

* ``amd``: ``AGI(agi://.../amd,${AMDSTATUS},${AMDCAUSE})`` reports AMD's verdict as
  soon as the dialplan has it (the call then enters Stasis as usual);
* ``agent-login``: an agent dials the login extension from the softphone; that call
  becomes the agent's nailed-up session once it enters Stasis.

Each handler reads what it needs and returns; the server then closes the socket, so
the dialplan goes on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog

from dialer.adapters.agi.server import AgiSession
from dialer.core import events as e

log = structlog.get_logger("dialer.agi")
AGENT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def endpoint_of(channel: str) -> str:
    """``PJSIP/agent1-0000002a`` -> ``PJSIP/agent1``."""
    base, sep, suffix = channel.rpartition("-")
    return base if sep and re.fullmatch(r"[0-9a-f]{8}", suffix) else channel


class AgiHooks:
    """``campaign()``: the campaign a dialled-in agent serves (None: the engine runs
    several, and the agent must log in through the API naming one)."""

    def __init__(self, feed: Callable[[object], None],
                 campaign: Callable[[], str | None] = lambda: None) -> None:
        self.feed, self.campaign = feed, campaign

    def handlers(self) -> dict[str, Callable[[AgiSession], Awaitable[None]]]:
        return {"amd": self.amd, "agent-login": self.agent_login}

    async def amd(self, session: AgiSession) -> None:
        args = list(session.env.args)
        attempt = await session.get_variable("DIALER_ATTEMPT")
        if not attempt or not args or args[0] not in e.AmdStatus.__members__:
            log.warning("amd hook without attempt or status", channel=session.env.channel)
            return
        cause = args[1] if len(args) > 1 else ""
        self.feed(e.AmdDetected(attempt, e.AmdStatus(args[0]), cause))

    async def agent_login(self, session: AgiSession) -> None:
        args = list(session.env.args)
        name = args[0] if args else ""
        if not AGENT_NAME.match(name):
            log.warning("agent login refused: bad agent name", channel=session.env.channel)
            await session.hangup()
            return
        campaign = self.campaign()
        if campaign is None:
            log.warning("agent login refused: this engine runs several campaigns; log in "
                        "through the API naming one", agent=name)
            await session.hangup()
            return
        self.feed(e.AgentLogin(name, endpoint_of(session.env.channel), dialed_in=True,
                               campaign=campaign))
