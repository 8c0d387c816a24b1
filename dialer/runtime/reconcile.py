"""Reconciliation by level: the engine's calls and agents against what Asterisk has.

After every reconnect and on a timer, the engine lists Asterisk's channels and bridges
and acts on the difference; it never replays what it might have missed.

* A call whose channel is gone ended unseen: it is ended the safe way
  (:class:`~dialer.core.events.CallVanished`). After a reconnect that is certain for
  calls placed before the connection came back (but for one whose originate may still
  have been on its way when the list was taken); on the timer a call must be missing
  from lists taken ``MISSED_FOR`` apart, so that a hangup still on its way is not
  pre-empted.
* A call found in its agent's bridge while the engine still waits for the join has
  joined (the event was lost).
* A logged-in agent whose phone or holding bridge is missing, or whose phone is not in
  its bridge, gets the phone called again.
* Phones and bridges of the agent-line form that belong to no current agent are
  leftovers (of this run or of a dead one): hung up and destroyed. So are channels of
  attempts already closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from dialer.adapters.agent_lines import Line, is_ours
from dialer.adapters.ari.errors import AriError
from dialer.adapters.ari.models import Bridge, Channel
from dialer.core import events as e
from dialer.core.agent import HUNG_UP, PHONE, Agent, AgentState
from dialer.core.call import CallState
from dialer.runtime.fates import fate_of

if TYPE_CHECKING:
    from dialer.adapters.agent_lines import AgentLines
    from dialer.adapters.ari.client import AriClient
    from dialer.runtime.service import EngineService

log = structlog.get_logger("dialer.reconcile")
PHONE_PATIENCE = 5.0  # seconds a phone being called may take to show up in Asterisk
ORIGINATE_PATIENCE = 3.0  # seconds an originate may take to create its channel
MISSED_FOR = 2.0  # a call missing from lists this far apart is gone


@dataclass(frozen=True, slots=True)
class AsteriskView:
    """Asterisk's channels and bridges at one moment."""

    channels: dict[str, Channel]
    bridges: dict[str, Bridge]

    def bridge_of(self, channel_id: str) -> str | None:
        return next((b.id for b in self.bridges.values() if channel_id in b.channels), None)

    def line_ok(self, line: Line | None) -> bool:
        if line is None or line.channel not in self.channels:
            return False
        bridge = self.bridges.get(line.bridge)
        return bridge is not None and line.channel in bridge.channels


async def look(ari: AriClient) -> AsteriskView:
    channels = await ari.list_channels()
    bridges = await ari.list_bridges()
    return AsteriskView({ch.id: ch for ch in channels}, {b.id: b for b in bridges})


class Reconciler:
    """Compares the running engine with Asterisk. ``closed(ids)`` tells which channel
    ids are attempts already closed in the database."""

    def __init__(self, service: EngineService, ari: AriClient,
                 closed: Callable[[list[str]], Awaitable[set[str]]],
                 optout: Callable[[int, str], Awaitable[None]]) -> None:
        self.service, self.ari, self.closed, self.optout = service, ari, closed, optout
        self._missing: dict[str, float] = {}  # call -> when its channel was first missed

    @property
    def lines(self) -> AgentLines:
        assert self.service.executor is not None
        return self.service.executor.lines

    async def run_once(self, before: float | None = None) -> AsteriskView:
        """One pass; ``before``: a reconnect happened and the calls placed earlier whose
        channels are gone ended for sure."""
        fetched = self.service.clock.now()
        view = await look(self.ari)
        await self._calls(view, before, fetched)
        self._agents(view, fetched)
        await self._leftovers(view)
        return view

    # ---------------------------------------------------------------- calls

    async def _calls(self, view: AsteriskView, before: float | None, fetched: float) -> None:
        service = self.service
        missing: dict[str, float] = {}
        for aid, call in list(service.engine.calls.items()):
            if aid in view.channels:
                if call.state is CallState.BRIDGING and call.agent and \
                        view.bridge_of(aid) == self.lines.bridge_of(call.agent):
                    service.feed(e.BridgeJoined(aid))
            elif self._gone(aid, call.state, before, fetched):
                await self._vanished(aid, call.phone)
            else:
                missing[aid] = self._missing.get(aid, fetched)
        self._missing = missing

    async def _vanished(self, attempt_id: str, phone: int) -> None:
        fate = await fate_of(self.ari, attempt_id)
        if fate.optout:
            await self.optout(phone, attempt_id)
        self.service.feed(e.CallVanished(attempt_id, abandoned=fate.abandoned))

    def _gone(self, attempt_id: str, state: CallState, before: float | None,
              fetched: float) -> bool:
        """Certain after a reconnect for a call placed before it, unless its originate
        may still have been on its way when the list was taken; else the call must be
        missing from lists taken ``MISSED_FOR`` apart."""
        placed = self.service.dialed_at.get(attempt_id)
        in_flight = state is CallState.DIALING and (
            placed is None or placed > fetched - ORIGINATE_PATIENCE)
        if before is None or in_flight:
            first = self._missing.get(attempt_id)
            return first is not None and fetched - first >= MISSED_FOR
        return placed is None or placed <= before

    # ---------------------------------------------------------------- agents

    def _agents(self, view: AsteriskView, fetched: float) -> None:
        service = self.service
        now = service.clock.now()
        for name, agent in list(service.engine.agents.items()):
            if self._phone_missing(agent, self.lines.lines.get(name), view, now, fetched):
                log.warning("agent phone missing: calling it again", agent=name)
                service.feed(e.AgentPhoneLost(name))

    @staticmethod
    def _phone_missing(agent: Agent, line: Line | None, view: AsteriskView,
                       now: float, fetched: float) -> bool:
        """``fetched``: when the view was asked for. A line still being set up then
        (its phone ringing, or a dial-in being put in its bridge) gets time."""
        if agent.state is AgentState.LOGGED_OUT or agent.pause_reason == HUNG_UP:
            return False
        if agent.pause_reason == PHONE:  # being called: give the call time to show up
            if line is None:  # a dial-in whose phone has not reached Stasis yet
                return now - agent.since > PHONE_PATIENCE
            return line.channel not in view.channels and (
                line.up or now - line.since > PHONE_PATIENCE)
        if line is not None and (not line.up or line.up_at > fetched):
            return now - line.since > PHONE_PATIENCE and not view.line_ok(line)
        return not view.line_ok(line)

    # ---------------------------------------------------------------- leftovers

    async def _leftovers(self, view: AsteriskView) -> None:
        lines = self.lines.lines.values()
        phones = {line.channel for line in lines}
        bridges = {line.bridge for line in lines}
        for cid in view.channels:
            if is_ours(cid) and cid not in phones:
                await self._quietly("hangup", cid)
        for bid in view.bridges:
            if is_ours(bid) and bid not in bridges:
                await self._quietly("destroy_bridge", bid)
        calls = self.service.engine.calls
        strays = [cid for cid in view.channels if cid not in calls and not cid.endswith(";2")]
        for cid in sorted(await self.closed(strays)):
            await self._quietly("hangup", cid)

    async def _quietly(self, verb: str, resource: str) -> None:
        log.info("leftover removed", verb=verb, id=resource)
        with contextlib.suppress(AriError):
            await getattr(self.ari, verb)(resource)
