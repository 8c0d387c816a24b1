"""The engine's core: ``Engine.handle(event, now) -> commands``.

It owns every call and agent machine, routes each event to its machine, and joins the
two: a live answer waiting for an agent gets the longest-idle ready agent; an agent
who becomes ready takes the longest-waiting live answer. It does no I/O: the executor
runs the commands it returns, and adapters feed it events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialer.core import agent as ag
from dialer.core import call as cl
from dialer.core import commands as c
from dialer.core import events as e

AGENT_TIMER_PREFIX = "agent:"
DIAL_GRACE = 30.0  # seconds past the ring timeout before a silent attempt is given up


@dataclass
class EngineStats:
    ended: dict[str, int] = field(default_factory=dict)
    live_answers: int = 0
    abandoned: int = 0


class Engine:
    """Calls and agents of one engine process, driven by events and the clock."""

    def __init__(self, wrapup_max: float = 120.0) -> None:
        self.calls: dict[str, cl.Call] = {}
        self.agents: dict[str, ag.Agent] = {}
        self.waiting: list[str] = []
        self.wrapup_max = wrapup_max
        self.stats = EngineStats()

    # ------------------------------------------------------------ dialing

    def originate(self, order: c.Originate, policy: cl.CallPolicy, now: float
                  ) -> list[c.Command]:
        """Track a new attempt and return the command that places it."""
        if order.attempt_id in self.calls:
            raise ValueError(f"attempt {order.attempt_id} is already in flight")
        self.calls[order.attempt_id] = cl.Call(order.attempt_id, order.phone, policy)
        give_up = now + order.ring_timeout + DIAL_GRACE
        return [order, c.RecordAttempt(order.attempt_id, (("originated_at", now),)),
                c.StartTimer(order.attempt_id, "dial_timeout", give_up)]

    # ------------------------------------------------------------ events

    def handle(self, event: object, now: float) -> list[c.Command]:
        """Apply one event; unknown or finished attempts' late events are dropped."""
        if isinstance(event, e.TimerFired) and event.attempt_id.startswith(AGENT_TIMER_PREFIX):
            name = event.attempt_id.removeprefix(AGENT_TIMER_PREFIX)
            return self._agent(ag.WrapupExpired(name), now)
        if isinstance(event, (e.AgentLogin, e.AgentPhoneUp, e.AgentReady, e.AgentPause,
                              e.AgentLogout, e.AgentPhoneDown, e.AgentDisposition)):
            return self._agent(event, now)
        attempt_id = getattr(event, "attempt_id", None)
        call = self.calls.get(attempt_id) if isinstance(attempt_id, str) else None
        if call is None:
            return []
        return self._call(call, event, now)

    def _call(self, call: cl.Call, event: object, now: float) -> list[c.Command]:
        new, cmds = cl.step(call, event, now)
        self.calls[call.attempt_id] = new
        return cmds + self._after_call(call, new, now)

    def _after_call(self, old: cl.Call, new: cl.Call, now: float) -> list[c.Command]:
        S = cl.CallState
        if new.state is S.CONNECTING and old.state is not S.CONNECTING:
            self.waiting.append(new.attempt_id)
            return self._assign(now)
        if new.state is not S.CONNECTING and new.attempt_id in self.waiting:
            self.waiting.remove(new.attempt_id)
        if new.state is S.BRIDGED and old.state is S.BRIDGING and new.agent:
            return self._agent(ag.CallBridged(new.agent), now)
        if new.state is S.ENDED:
            return self._ended(new, now)
        return []

    def _ended(self, call: cl.Call, now: float) -> list[c.Command]:
        del self.calls[call.attempt_id]
        outcome = call.outcome or "failed"
        self.stats.ended[outcome] = self.stats.ended.get(outcome, 0) + 1
        self.stats.live_answers += call.live
        self.stats.abandoned += call.abandoned
        agent = self.agents.get(call.agent) if call.agent else None
        if agent is None or agent.attempt_id != call.attempt_id:
            return []
        if agent.state is ag.AgentState.RESERVED:
            return self._agent(ag.CallLost(agent.name), now)
        if agent.state is ag.AgentState.TALKING:
            return self._agent(ag.CallFinished(agent.name), now)
        return []

    # ------------------------------------------------------------ agents

    def _agent(self, event: object, now: float) -> list[c.Command]:
        name = str(event.agent)  # type: ignore[attr-defined]
        agent = self.agents.get(name) or ag.Agent(name, wrapup_max=self.wrapup_max, since=now)
        new, cmds = ag.step(agent, event, now)
        self.agents[name] = new
        if new.state is ag.AgentState.READY and agent.state is not ag.AgentState.READY:
            cmds += self._assign(now)
        if new.state is ag.AgentState.LOGGED_OUT and agent.attempt_id in self.calls:
            # the agent's phone went down mid-call: nobody is left to talk to the customer
            cmds.append(c.HangupCall(agent.attempt_id, "normal"))
        return cmds

    def ready_agents(self) -> list[ag.Agent]:
        """Ready agents, longest idle first."""
        ready = [a for a in self.agents.values() if a.state is ag.AgentState.READY]
        return sorted(ready, key=lambda a: (a.since, a.name))

    def _assign(self, now: float) -> list[c.Command]:
        cmds: list[c.Command] = []
        while self.waiting:
            ready = self.ready_agents()
            if not ready:
                break
            attempt_id = self.waiting.pop(0)
            agent = ready[0]
            cmds += self._agent(ag.Reserve(agent.name, attempt_id), now)
            cmds += self._call(self.calls[attempt_id], cl.AgentFound(attempt_id, agent.name),
                               now)
        return cmds

    # ------------------------------------------------------------ views

    def in_flight(self, campaign: str | None = None) -> list[cl.Call]:
        return [x for x in self.calls.values()
                if campaign is None or x.policy.campaign == campaign]

    def agents_by_state(self) -> dict[str, int]:
        counts = {s.value: 0 for s in ag.AgentState}
        for a in self.agents.values():
            counts[a.state.value] += 1
        return counts
