"""Agent records: each login opens an `agent_sessions` row, each logout closes it,
and the attempt writer learns the agent's database id for `call_attempts.agent_id`."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import structlog

from dialer.core import commands as c
from dialer.store import agents as store

log = structlog.get_logger("dialer.agents")


class AgentRecords:
    """A listener of the engine's commands; its database work runs as owned tasks."""

    def __init__(self, pool: asyncpg.Pool, endpoint_of: Callable[[str], str],
                 submit: Callable[[str, Callable[[], object]], None]) -> None:
        self.pool, self.endpoint_of, self.submit = pool, endpoint_of, submit
        self.ids: dict[str, int] = {}
        self.sessions: dict[str, int] = {}

    def __call__(self, event: object, cmds: list[c.Command]) -> None:
        for cmd in cmds:
            if not isinstance(cmd, c.AgentStateChanged):
                continue
            if cmd.old == "logged_out":
                self.submit(f"agent-db:{cmd.agent}", lambda a=cmd.agent: self._login(a))
            elif cmd.new == "logged_out":
                self.submit(f"agent-db:{cmd.agent}",
                            lambda a=cmd.agent, why=cmd.event: self._logout(a, why))

    async def _login(self, agent: str) -> None:
        agent_id = await store.ensure_agent(self.pool, agent, self.endpoint_of(agent))
        self.ids[agent] = agent_id
        self.sessions[agent] = await store.open_session(self.pool, agent_id, None, None)

    async def _logout(self, agent: str, reason: str) -> None:
        session = self.sessions.pop(agent, None)
        if session is not None:
            await store.close_session(self.pool, session, reason)

    def agent_id(self, agent: str) -> int | None:
        return self.ids.get(agent)
