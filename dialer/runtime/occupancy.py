"""Agent occupancy: talk time over logged-in time, from the agents' state changes."""

from __future__ import annotations

from collections.abc import Callable

from dialer.core import commands as c


class Occupancy:
    """A listener of the engine's commands that times each agent's states."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._since: dict[str, tuple[str, float]] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, event: object, cmds: list[c.Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, c.AgentStateChanged):
                self._close(cmd.agent)
                self._since[cmd.agent] = (cmd.new, self._now())

    def _close(self, agent: str) -> None:
        state, since = self._since.pop(agent, ("logged_out", self._now()))
        self.seconds[state] = self.seconds.get(state, 0.0) + self._now() - since

    def ratio(self) -> float:
        """Talking time / logged-in time, counting the states still open."""
        totals = dict(self.seconds)
        now = self._now()
        for state, since in self._since.values():
            totals[state] = totals.get(state, 0.0) + now - since
        logged_in = sum(v for k, v in totals.items() if k != "logged_out")
        return totals.get("talking", 0.0) / logged_in if logged_in else 0.0
