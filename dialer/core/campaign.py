"""The engine's core: ``Engine.handle(event, now) -> commands``.

It owns every call and agent machine, routes each event to its machine, and joins the
two: a live answer waiting for an agent gets the longest-idle ready agent; an agent
who becomes ready takes the longest-waiting live answer. It does no I/O: the executor
runs the commands it returns, and adapters feed it events.
"""

from __future__ import annotations

import dataclasses
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


_AGENT_EVENTS = (e.AgentLogin, e.AgentPhoneUp, e.AgentReady, e.AgentPause, e.AgentLogout,
                 e.AgentPhoneDown, e.AgentPhoneLost, e.AgentPhoneFailed, e.AgentDisposition)


class Engine:
    """Calls and agents of one engine process, driven by events and the clock."""

    def __init__(self, wrapup_max: float = 120.0, *, phone_grace: float = 5.0,
                 phone_giveup: float = 120.0) -> None:
        self.calls: dict[str, cl.Call] = {}
        self.agents: dict[str, ag.Agent] = {}
        self.waiting: list[str] = []
        self.wrapup_max = wrapup_max
        self.phone_grace, self.phone_giveup = phone_grace, phone_giveup
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

    def adopt(self, call: cl.Call, cmds: list[c.Command], now: float) -> list[c.Command]:
        """Take over a call found in Asterisk (see :mod:`dialer.core.adoption`)."""
        if call.attempt_id in self.calls:
            raise ValueError(f"attempt {call.attempt_id} is already in flight")
        self.calls[call.attempt_id] = call
        if call.state is cl.CallState.CONNECTING:
            self.waiting.append(call.attempt_id)
            return cmds + self._assign(now)
        return cmds

    def restore(self, agent: ag.Agent) -> None:
        """Put back an agent whose session outlived an engine (read from the database)."""
        self.agents[agent.name] = dataclasses.replace(
            agent, wrapup_max=self.wrapup_max, phone_grace=self.phone_grace,
            phone_giveup=self.phone_giveup)

    def _new_agent(self, name: str, since: float) -> ag.Agent:
        return ag.Agent(name, wrapup_max=self.wrapup_max, since=since,
                        phone_grace=self.phone_grace, phone_giveup=self.phone_giveup)

    # ------------------------------------------------------------ events

    def handle(self, event: object, now: float) -> list[c.Command]:
        """Apply one event; unknown or finished attempts' late events are dropped."""
        if isinstance(event, e.TimerFired) and event.attempt_id.startswith(AGENT_TIMER_PREFIX):
            name = event.attempt_id.removeprefix(AGENT_TIMER_PREFIX)
            return self._agent(ag.TIMER_EVENTS[event.name](name), now)
        if isinstance(event, e.TelephonyLost):
            return [cmd for name, agent in list(self.agents.items())
                    if agent.pause_reason == ag.HUNG_UP
                    for cmd in self._agent(ag.TelephonyLost(name), now)]
        if isinstance(event, _AGENT_EVENTS):
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
        cmds: list[c.Command] = []
        if old.state is S.BRIDGING and new.state not in (S.BRIDGING, S.BRIDGED):
            cmds += self._release(old, new, now)
        if new.state is S.CONNECTING and old.state is not S.CONNECTING:
            self.waiting.append(new.attempt_id)
            return cmds + self._assign(now)
        if new.state is not S.CONNECTING and new.attempt_id in self.waiting:
            self.waiting.remove(new.attempt_id)
        if new.state is S.BRIDGED and old.state is S.BRIDGING and new.agent:
            return cmds + self._agent(ag.CallBridged(new.agent), now)
        if new.state is S.ENDED:
            return cmds + self._ended(new, now)
        return cmds

    def _release(self, old: cl.Call, new: cl.Call, now: float) -> list[c.Command]:
        """The call left the agent it was joining: a refused bridge means the agent's
        phone is gone (called again); any other end frees the agent."""
        agent = self.agents.get(old.agent) if old.agent else None
        if agent is None or agent.state is not ag.AgentState.RESERVED \
                or agent.attempt_id != old.attempt_id:
            return []
        if new.state is cl.CallState.CONNECTING:
            return self._agent(e.AgentPhoneLost(agent.name), now)
        return self._agent(ag.CallLost(agent.name), now)

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
        agent = self.agents.get(name) or self._new_agent(name, now)
        new, cmds = ag.step(agent, event, now)
        self.agents[name] = new
        if new.state is ag.AgentState.READY and agent.state is not ag.AgentState.READY:
            cmds += self._assign(now)
        if agent.attempt_id in self.calls and new.attempt_id is None:
            cmds += self._orphaned(agent, now)
        return cmds

    def _orphaned(self, agent: ag.Agent, now: float) -> list[c.Command]:
        """The agent's phone went away with a call on it. A call still joining the agent
        waits for another one; a customer already talking has nobody left: hung up."""
        assert agent.attempt_id is not None
        call = self.calls[agent.attempt_id]
        if agent.state is ag.AgentState.RESERVED and call.state is cl.CallState.BRIDGING:
            return self._call(call, e.BridgeFailed(call.attempt_id), now)
        return [c.HangupCall(agent.attempt_id, "normal")]

    def ready_agents(self, campaign: str | None = None) -> list[ag.Agent]:
        """Ready agents (of ``campaign``, when given), longest idle first."""
        ready = [a for a in self.agents.values() if a.state is ag.AgentState.READY
                 and (campaign is None or a.serves(campaign))]
        return sorted(ready, key=lambda a: (a.since, a.name))

    def _assign(self, now: float) -> list[c.Command]:
        """Longest-waiting live answer first, each to the longest-idle agent of its
        campaign."""
        cmds: list[c.Command] = []
        for attempt_id in list(self.waiting):
            call = self.calls.get(attempt_id)
            if call is None or attempt_id not in self.waiting:
                continue
            ready = self.ready_agents(call.policy.campaign)
            if not ready:
                continue
            self.waiting.remove(attempt_id)
            cmds += self._agent(ag.Reserve(ready[0].name, attempt_id), now)
            cmds += self._call(call, cl.AgentFound(attempt_id, ready[0].name), now)
        return cmds

    # ------------------------------------------------------------ views

    def in_flight(self, campaign: str | None = None) -> list[cl.Call]:
        return [x for x in self.calls.values()
                if campaign is None or x.policy.campaign == campaign]

    def agents_by_state(self, campaign: str | None = None) -> dict[str, int]:
        """Agents per state (of ``campaign``'s own agents, when given)."""
        counts = {s.value: 0 for s in ag.AgentState}
        for a in self.agents.values():
            if campaign is None or a.campaign == campaign:
                counts[a.state.value] += 1
        return counts
