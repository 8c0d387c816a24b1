"""Agents' lines in Asterisk: each logged-in agent's phone channel and holding bridge.

Ids are unique per engine run and per call of the phone: ``agent-<name>-<run>.<n>``
for both the phone channel and its bridge (``<run>`` is eight hex digits of the run id),
so a new engine never collides with what an old one left, and a stale phone can never
share a bridge with a new one. Calling a phone again first hangs up the old phone and
destroys the old bridge; a bridge only ever holds the agent's current phone plus one
customer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from dialer.adapters.ari.client import AriOriginate
from dialer.adapters.ari.errors import AriError
from dialer.adapters.translate import AGENT_ARG
from dialer.core import events as e

log = structlog.get_logger("dialer.agents")
PREFIX = "agent-"
Submit = Callable[[str, Callable[[], Awaitable[None]]], None]


@dataclass
class Line:
    """``channel``: the phone channel's id. ``since``: engine time it was made.
    ``up``: the phone answered and was put in its bridge, at engine time ``up_at``."""

    channel: str
    bridge: str
    since: float = 0.0
    up: bool = False
    up_at: float = 0.0


def is_ours(resource_id: str) -> bool:
    """A channel or bridge id of the agent-line form (of any engine run)."""
    name, sep, tail = resource_id.removeprefix(PREFIX).rpartition("-")
    run, dot, seq = tail.partition(".")
    return (resource_id.startswith(PREFIX) and bool(name) and bool(sep) and bool(dot)
            and len(run) == 8 and seq.isdigit())


class AgentLines:
    """Calls agents' phones and keeps their bridges; ``feed`` reports what failed."""

    def __init__(self, ari: object, app: str, run_token: str,
                 feed: Callable[[object], None], submit: Submit,
                 now: Callable[[], float]) -> None:
        self.ari, self.app, self.run_token = ari, app, run_token
        self.feed, self.submit, self.now = feed, submit, now
        self.lines: dict[str, Line] = {}
        self._seq = 0

    def _new_id(self, agent: str) -> str:
        self._seq += 1
        return f"{PREFIX}{agent}-{self.run_token}.{self._seq}"

    def line_of(self, agent: str) -> tuple[str, str] | None:
        line = self.lines.get(agent)
        return (line.channel, line.bridge) if line is not None else None

    def bridge_of(self, agent: str) -> str | None:
        line = self.lines.get(agent)
        return line.bridge if line is not None else None

    def adopt(self, agent: str, channel: str, bridge: str) -> None:
        """A line found in Asterisk after a restart, kept as it is."""
        now = self.now()
        self.lines[agent] = Line(channel, bridge, now, up=True, up_at=now)

    # ---------------------------------------------------------------- phone

    def call_phone(self, agent: str, endpoint: str) -> None:
        old = self.lines.get(agent)
        line = Line(self._new_id(agent), self._new_id(agent), self.now())
        self.lines[agent] = line
        self.submit(f"agent:{agent}", lambda: self._phone_up(agent, endpoint, line, old))

    async def _phone_up(self, agent: str, endpoint: str, line: Line, old: Line | None) -> None:
        if old is not None:
            await self._clean(old)
        try:
            await self.ari.create_bridge(line.bridge, "mixing")  # type: ignore[attr-defined]
            await self.ari.originate(AriOriginate(  # type: ignore[attr-defined]
                endpoint=endpoint, channel_id=line.channel, app=self.app,
                app_args=(AGENT_ARG, agent), timeout_s=30))
        except AriError as exc:
            log.warning("agent phone not called", agent=agent, error=str(exc))
            self.feed(e.AgentPhoneFailed(agent))

    def is_current(self, agent: str, channel: str) -> bool:
        line = self.lines.get(agent)
        return line is not None and line.channel == channel

    def phone_answered(self, agent: str, channel: str) -> bool:
        """The phone is up in Stasis: put it in its bridge (a dial-in gets one now).
        False for a phone this engine called earlier and replaced since: hung up."""
        line = self.lines.get(agent)
        if line is not None and line.channel == channel:
            self.submit(f"agent:{agent}", lambda: self._join(agent, line))
            return True
        if is_ours(channel):
            self.submit(f"agent:{agent}", lambda: self._clean(Line(channel, "")))
            return False
        fresh = Line(channel, self._new_id(agent), self.now())  # dialled in: own bridge
        self.lines[agent] = fresh
        if line is not None:
            self.submit(f"agent:{agent}", lambda: self._clean(line))
        self.submit(f"agent:{agent}", lambda: self._join(agent, fresh))
        return True

    async def _join(self, agent: str, line: Line) -> None:
        try:
            with contextlib.suppress(AriError):  # 409: it exists already
                await self.ari.create_bridge(line.bridge, "mixing")  # type: ignore[attr-defined]
            await self.ari.add_channel(line.bridge, line.channel)  # type: ignore[attr-defined]
            line.up, line.up_at = True, self.now()
        except AriError as exc:
            log.warning("agent phone not bridged", agent=agent, error=str(exc))
            if self.lines.get(agent) is line:
                self.feed(e.AgentPhoneLost(agent))

    def hang_up(self, agent: str) -> None:
        line = self.lines.pop(agent, None)
        if line is not None:
            self.submit(f"agent:{agent}", lambda: self._clean(line))

    async def _clean(self, line: Line) -> None:
        """Hang up a phone and destroy its bridge; either may be gone already."""
        if line.channel:
            with contextlib.suppress(AriError):
                await self.ari.hangup(line.channel)  # type: ignore[attr-defined]
        if line.bridge:
            with contextlib.suppress(AriError):
                await self.ari.destroy_bridge(line.bridge)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- customers

    def bridge_call(self, attempt_id: str, agent: str) -> None:
        bridge = self.bridge_of(agent)
        self.submit(attempt_id, lambda: self._add(attempt_id, bridge))

    async def _add(self, attempt_id: str, bridge: str | None) -> None:
        try:
            if bridge is None:
                raise AriError("the agent has no bridge", status=404)
            await self.ari.add_channel(bridge, attempt_id)  # type: ignore[attr-defined]
        except AriError as exc:
            log.warning("call not bridged", attempt_id=attempt_id, error=str(exc))
            self.feed(e.BridgeFailed(attempt_id))
            return
        self.feed(e.BridgeJoined(attempt_id))

    def leave(self, attempt_id: str, agent: str) -> None:
        bridge = self.bridge_of(agent)
        if bridge is not None:
            self.submit(attempt_id, lambda: self._remove(bridge, attempt_id))

    async def _remove(self, bridge: str, attempt_id: str) -> None:
        with contextlib.suppress(AriError):  # it never got there
            await self.ari.remove_channel(bridge, attempt_id)  # type: ignore[attr-defined]
