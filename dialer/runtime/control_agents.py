"""The agent half of the API's port: login, ready, pause, logout, disposition.

Each request becomes an event for the core, applied at once, so an impossible step
(ready while talking, say) is refused with a Conflict naming the state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialer.api import ports as p
from dialer.core import events as e
from dialer.core.agent import Agent
from dialer.core.errors import IllegalTransition
from dialer.store import agents as store_agents

if TYPE_CHECKING:
    from dialer.app import DialerApp


class AgentControl:
    def __init__(self, app: DialerApp) -> None:
        self.app = app

    @property
    def parts(self) -> Any:
        if self.app.parts is None:
            raise p.Conflict("the engine is starting")
        return self.app.parts

    def _agent(self, name: str) -> Agent:
        agent = self.parts.service.engine.agents.get(name)
        if agent is None:
            raise p.NotFound("agent", name)
        return agent

    def _as_info(self, agent: Agent) -> p.AgentInfo:
        clock = self.parts.service.clock
        return p.AgentInfo(agent.name, agent.state.value, clock.wall(agent.since),
                           agent.endpoint or None, agent.campaign, agent.pause_reason,
                           agent.attempt_id)

    def _apply(self, event: object, name: str) -> p.AgentInfo:
        try:
            self.parts.service.apply(event)
        except IllegalTransition as exc:
            raise p.Conflict(f"agent {name} is {exc.state}: cannot {exc.event}") from None
        return self._as_info(self._agent(name))

    async def agents(self) -> tuple[p.AgentInfo, ...]:
        engine = self.parts.service.engine
        return tuple(self._as_info(a) for a in sorted(engine.agents.values(),
                                                      key=lambda a: a.name))

    async def agent_login(self, agent: str, endpoint: str, campaign: str | None
                          ) -> p.AgentInfo:
        """Log in for one campaign of this engine (the only one, when it runs one)."""
        campaign = self._campaign_for_login(campaign)
        other = await store_agents.engine_of_agent(self.parts.pool, agent,
                                                   self.app.cfg.engine.heartbeat_timeout)
        if other is not None and other != self.app.engine_id:
            raise p.Conflict(f"agent {agent} is logged in on engine {other}: log out there "
                             "first")
        return self._apply(e.AgentLogin(agent, endpoint, campaign=campaign), agent)

    def _campaign_for_login(self, campaign: str | None) -> str:
        names = sorted(self.parts.dialers)
        if campaign is None:
            if len(names) != 1:
                raise p.InvalidSetting("campaign", "name the campaign to serve; this engine "
                                       f"runs {', '.join(names) or 'none'}")
            return names[0]
        if campaign not in self.parts.dialers:
            raise p.NotFound("campaign", campaign)
        return campaign

    async def agent_ready(self, agent: str) -> p.AgentInfo:
        self._agent(agent)
        return self._apply(e.AgentReady(agent), agent)

    async def agent_pause(self, agent: str, reason: str) -> p.AgentInfo:
        self._agent(agent)
        return self._apply(e.AgentPause(agent, reason), agent)

    async def agent_logout(self, agent: str) -> p.AgentInfo:
        self._agent(agent)
        return self._apply(e.AgentLogout(agent), agent)

    async def agent_disposition(self, agent: str, disposition: p.Disposition) -> p.AgentInfo:
        current = self._agent(agent)
        if current.attempt_id != disposition.attempt_id:
            raise p.Conflict(f"agent {agent} is not wrapping up attempt "
                             f"{disposition.attempt_id}")
        self._record(current, disposition)
        return self._apply(e.AgentDisposition(agent, disposition.code), agent)

    def _record(self, agent: Agent, d: p.Disposition) -> None:
        parts = self.parts
        agent_id = parts.records.agent_id(agent.name)
        now = datetime.now(UTC)
        parts.writer.disposition(d.attempt_id, agent_id, d.code, d.notes, now)
        if d.callback_at is not None:
            if d.callback_at <= now or d.callback_at > now + timedelta(days=365):
                raise p.InvalidSetting("callback_at", "must be in the future, within a year")
            self.app.schedule_callback(d.attempt_id, agent.name, d.callback_at)
