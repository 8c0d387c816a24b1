"""Agent records: each login opens an `agent_sessions` row of this engine, each logout
closes it, and in between the row keeps what a restarted engine needs to put the agent
back to work: the campaign, the phone channel and holding bridge, and the pause reason
to return to. The attempt writer learns the agent's database id for
`call_attempts.agent_id`."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import structlog

from dialer.core import commands as c
from dialer.core.agent import PHONE_REASONS, Agent, AgentState
from dialer.store import agents as store

log = structlog.get_logger("dialer.agents")
Note = tuple[str | None, str | None, str | None]  # channel, bridge, paused reason


def paused_reason(agent: Agent) -> str | None:
    """The reason an agent is paused for their own sake (None: ready when the phone is)."""
    if agent.state is not AgentState.PAUSED:
        return None
    return agent.resume if agent.pause_reason in PHONE_REASONS else agent.pause_reason


class AgentRecords:
    """A listener of the engine's events and commands; its database work runs as owned
    tasks, one after another per agent."""

    def __init__(self, pool: asyncpg.Pool, engine_id: str,
                 agent_of: Callable[[str], Agent | None],
                 line_of: Callable[[str], tuple[str, str] | None],
                 campaign_id: Callable[[str | None], int | None],
                 submit: Callable[[str, Callable[[], object]], None]) -> None:
        self.pool, self.engine_id, self.submit = pool, engine_id, submit
        self.agent_of, self.line_of, self.campaign_id = agent_of, line_of, campaign_id
        self.ids: dict[str, int] = {}
        self.sessions: dict[str, int] = {}
        self._noted: dict[str, Note] = {}

    def __call__(self, event: object, cmds: list[c.Command]) -> None:
        names = {cmd.agent for cmd in cmds if isinstance(cmd, c.AgentStateChanged)}
        named = getattr(event, "agent", None)
        if isinstance(named, str):
            names.add(named)
        for cmd in cmds:
            if isinstance(cmd, c.AgentStateChanged) and cmd.old == "logged_out":
                self._job(cmd.agent, lambda a=cmd.agent: self._login(a))
        for name in sorted(names):
            self._note(name)
        for cmd in cmds:
            if isinstance(cmd, c.AgentStateChanged) and cmd.new == "logged_out":
                self._job(cmd.agent, lambda a=cmd.agent, why=cmd.event: self._logout(a, why))

    def _job(self, agent: str, job: Callable[[], object]) -> None:
        self.submit(f"agent-db:{agent}", job)

    def _note(self, name: str) -> None:
        agent = self.agent_of(name)
        if agent is None or agent.state is AgentState.LOGGED_OUT:
            return
        line = self.line_of(name) or (None, None)
        note: Note = (line[0] or None, line[1] or None, paused_reason(agent))
        if self._noted.get(name) != note:
            self._noted[name] = note
            self._job(name, lambda: self._write(name, note))

    async def _login(self, agent: str) -> None:
        found = self.agent_of(agent)
        endpoint = found.endpoint if found else ""
        agent_id = await store.ensure_agent(self.pool, agent, endpoint)
        self.ids[agent] = agent_id
        campaign = self.campaign_id(found.campaign if found else None)
        self.sessions[agent] = await store.open_session(self.pool, agent_id, campaign, None,
                                                        self.engine_id)

    async def _write(self, agent: str, note: Note) -> None:
        session = self.sessions.get(agent)
        if session is not None:
            await store.note_session(self.pool, session, channel_id=note[0],
                                     bridge_id=note[1], paused_reason=note[2])

    async def _logout(self, agent: str, reason: str) -> None:
        self._noted.pop(agent, None)
        session = self.sessions.pop(agent, None)
        if session is not None:
            await store.close_session(self.pool, session, reason)

    def adopt(self, agent: str, agent_id: int, session_id: int) -> None:
        """A session restored from an earlier engine run."""
        self.ids[agent], self.sessions[agent] = agent_id, session_id

    async def close_all(self, reason: str) -> None:
        """On a clean stop: every open session of this engine ends."""
        await store.close_sessions_of(self.pool, [self.engine_id], reason)
        self.sessions.clear()

    def agent_id(self, agent: str) -> int | None:
        return self.ids.get(agent)
