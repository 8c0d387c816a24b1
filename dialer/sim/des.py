"""The discrete-event pacing simulation: a fake clock, no sockets.

Called parties come from the scenario's :class:`~dialer.sim.model.CalleeModel` (the same
one the socket simulator uses); agents follow the scenario's schedule, talk for the
called party's talk time and wrap up. The pacer is consulted after every event that
changes who is free or what may still become a live answer (a call is answered, is
judged by AMD, ends busy or congested, is abandoned; an agent comes free, logs in or
out, pauses or resumes), and whenever 250 ms pass without a consultation. A call that
rings out at the ring timeout is not such an event: the forecast already gives a call
that old no chance of a live answer, and the next tick sees it gone. Events live in one
heap; nothing polls.

Abandonment: a live answer (AMD says human) that no agent takes within the scenario's
answer window (2 s) is abandoned: it hears the safe-harbour message and is hung up. A
human whom AMD wrongly judges a machine also got no agent: the figures count it as a
live answer and an abandon, while the dialer's own ledger (what the pacer sees) cannot.
A machine that AMD judges human is sent to an agent, who hangs up after its greeting.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dialer.core.pacing import Learner, Ledger, Pacer, Snapshot
from dialer.sim.des_report import ShiftResult, Tally, summarize
from dialer.sim.model import CalleePlan, Outcome
from dialer.sim.scenario import AgentStep, Scenario

TICK_S = 0.25
PREVIEW_S = 5.0
(ANSWERED, ENDED, RANG_OUT, JUDGED, TALK_END, WRAP_END, GIVE_UP, TICK, STEP, RESUME,
 PREVIEW) = range(11)
_RELEVANT = frozenset({ANSWERED, ENDED, JUDGED, WRAP_END, GIVE_UP, STEP, RESUME})


class _Call:
    __slots__ = ("answered_at", "dialed_at", "id", "owner", "plan", "waiting")

    def __init__(self, call_id: int, plan: CalleePlan, now: float, owner: int | None) -> None:
        self.id, self.plan, self.dialed_at, self.owner = call_id, plan, now, owner
        self.answered_at = now
        self.waiting = False


@dataclass(frozen=True, slots=True)
class SimSettings:
    tick_s: float = TICK_S
    window_s: float = 3600.0


class Simulation:
    """One shift of one scenario with one pacer and one seed."""

    def __init__(self, scenario: Scenario, pacer: Pacer, seed: int,
                 settings: SimSettings | None = None) -> None:
        self.scenario, self.pacer, self.seed = scenario, pacer, seed
        self.settings = settings or SimSettings()
        self.model = scenario.callee_model(seed)
        self.learner = Learner()
        self.tally = Tally()
        self.now = 0.0
        self._heap: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self._next_id = 0
        self._ready: dict[int, float] = {}
        self._talking: dict[int, float] = {}
        self._wrapping: dict[int, float] = {}
        self._paused: set[int] = set()
        self._ringing: dict[int, float] = {}
        self._screening: dict[int, float] = {}
        self._waiting: deque[_Call] = deque()
        self._pending: deque[AgentStep] = deque()
        self._minute: deque[tuple[float, bool]] = deque()
        self._minute_abandoned = 0
        self._staffed_since = 0.0
        self._staffed = 0
        self._consulted_at = -TICK_S
        self._talk_start: dict[int, tuple[float, bool]] = {}

    # -- the loop --------------------------------------------------------------------

    def run(self) -> ShiftResult:
        started = time.perf_counter()
        end = self.scenario.shift_s
        self._login(self.scenario.agents)
        for step in self.scenario.schedule:
            self._push(step.at_s, STEP, step)
        self._push(0.0, TICK, None)
        handlers = self._handlers()
        heap, tally = self._heap, self.tally
        while heap and heap[0][0] < end:
            at, _, kind, obj = heapq.heappop(heap)
            self.now = at
            tally.events += 1
            handlers[kind](obj)
            if kind in _RELEVANT:
                self._consult()
        self._close(end)
        return summarize(self.tally, scenario=self.scenario.name, pacer=self.pacer.name,
                         agents=self.scenario.agents, seed=self.seed, shift_s=end,
                         window_s=self.settings.window_s, wall_s=time.perf_counter() - started)

    def _handlers(self) -> dict[int, Callable[[Any], None]]:
        return {ANSWERED: self._answered, ENDED: self._ended, RANG_OUT: self._ended,
                JUDGED: self._judged,
                TALK_END: self._talk_end, WRAP_END: self._wrap_end, GIVE_UP: self._give_up,
                TICK: self._tick, STEP: self._step, RESUME: self._resume,
                PREVIEW: self._preview_dial}

    def _push(self, at: float, kind: int, obj: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, obj))

    def _tick(self, _: object) -> None:
        """Consult the pacer if nothing else did for a tick; come back a tick after the
        latest consultation."""
        tick = self.settings.tick_s
        if self.now - self._consulted_at >= tick - 1e-9:
            self._consult()
        self._push(self._consulted_at + tick, TICK, None)

    # -- the pacer -------------------------------------------------------------------

    def _consult(self) -> None:
        self._consulted_at = self.now
        decision = self.pacer.decide(self._snapshot())
        tally = self.tally
        tally.decisions += 1
        tally.modes[decision.mode] = tally.modes.get(decision.mode, 0) + 1
        for _ in range(decision.calls):
            self._dial(None)

    def _snapshot(self) -> Snapshot:
        now, t = self.now, self.tally
        minute = self._minute
        while minute and minute[0][0] < now - 60.0:
            self._minute_abandoned -= minute.popleft()[1]
        return Snapshot(
            now=now, ready=tuple(self._ready.values()), talking=tuple(self._talking.values()),
            wrapping=tuple(self._wrapping.values()), paused=len(self._paused),
            ringing=tuple(self._ringing.values()), screening=tuple(self._screening.values()),
            waiting=len(self._waiting), estimates=self.learner.estimates(now),
            ledger=Ledger(t.ledger_live, t.ledger_abandoned),
            today=Ledger(t.ledger_live, t.ledger_abandoned),
            last_minute=Ledger(len(minute), self._minute_abandoned),
            shift_fraction=now / self.scenario.shift_s)

    # -- calls -----------------------------------------------------------------------

    def _dial(self, owner: int | None) -> None:
        now = self.now
        self._next_id += 1
        call = _Call(self._next_id, self.model.plan(str(self._next_id), now), now, owner)
        self.tally.dialed += 1
        plan = call.plan
        self._ringing[call.id] = now
        timeout = self.scenario.ring_timeout_s
        if plan.answers and plan.ring_s < timeout:
            self._push(now + plan.ring_s, ANSWERED, call)
        elif plan.ring_s < timeout:
            self._push(now + plan.ring_s, ENDED, call)
        else:
            self._push(now + timeout, RANG_OUT, call)

    def _ended(self, call: _Call) -> None:
        del self._ringing[call.id]
        self.learner.attempt(self.now, self.now - call.dialed_at)
        self._owner_retry(call)

    def _answered(self, call: _Call) -> None:
        del self._ringing[call.id]
        call.answered_at = self.now
        if call.plan.amd_s > 0:
            self._screening[call.id] = self.now
            self._push(self.now + call.plan.amd_s, JUDGED, call)
        else:
            self._judged(call)

    def _judged(self, call: _Call) -> None:
        now, plan, tally = self.now, call.plan, self.tally
        self._screening.pop(call.id, None)
        human_verdict = plan.amd_status == "HUMAN"
        exit_s = call.answered_at - call.dialed_at
        self.learner.screened(now, now - call.answered_at, human_verdict)
        self.learner.attempt(now, exit_s, now - call.dialed_at if human_verdict else None)
        is_person = plan.outcome is Outcome.HUMAN
        if is_person:
            tally.live += 1
        if not human_verdict:
            if is_person:
                self._record(abandoned=True)
            self._owner_retry(call)
            return
        tally.ledger_live += 1
        self._arrive(call)

    def _arrive(self, call: _Call) -> None:
        agent = call.owner if call.owner is not None else next(iter(self._ready), None)
        if agent is not None and agent in self._ready:
            self._bridge(call, agent)
            return
        call.waiting = True
        self._waiting.append(call)
        window = self.scenario.answer_window_s
        patience = call.plan.patience_s if call.plan.outcome is Outcome.HUMAN else window
        self._push(self.now + min(window, patience), GIVE_UP, call)

    def _give_up(self, call: _Call) -> None:
        if not call.waiting:
            return
        call.waiting = False
        self._waiting.remove(call)
        self.tally.ledger_abandoned += 1
        self._minute.append((self.now, True))
        self._minute_abandoned += 1
        if call.plan.outcome is Outcome.HUMAN:
            self._record(abandoned=True)
            self.tally.optouts += call.plan.optout

    def _record(self, *, abandoned: bool) -> None:
        self.tally.abandoned += abandoned
        self.tally.outcomes.append((self.now, abandoned))

    def _bridge(self, call: _Call, agent: int) -> None:
        now, tally = self.now, self.tally
        tally.idle_s += now - self._ready.pop(agent)
        tally.bridged += 1
        call.waiting = False
        self._talking[agent] = now
        human = call.plan.outcome is Outcome.HUMAN
        self._minute.append((now, False))
        if human:
            self._record(abandoned=False)
        self._talk_start[agent] = (now, human)
        length = call.plan.talk_s if human else call.plan.greeting_s
        self._push(now + length, TALK_END, agent)

    def _owner_retry(self, call: _Call) -> None:
        if call.owner is not None and call.owner in self._ready:
            self._push(self.now + PREVIEW_S, PREVIEW, call.owner)

    # -- agents ----------------------------------------------------------------------

    def _talk_end(self, agent: int) -> None:
        now = self.now
        started = self._talking.pop(agent)
        _, human = self._talk_start.pop(agent)
        if human:
            self.tally.talk_s += now - started
        self.learner.talked(now, now - started)
        self._wrapping[agent] = now
        self._push(now + self.model.wrapup_s(now), WRAP_END, agent)

    def _wrap_end(self, agent: int) -> None:
        started = self._wrapping.pop(agent)
        self.learner.wrapped(self.now, self.now - started)
        self._free(agent)

    def _free(self, agent: int) -> None:
        if self._pending:
            self._leave(agent, self._pending.popleft())
        else:
            self._available(agent)

    def _available(self, agent: int) -> None:
        self._ready[agent] = self.now
        while self._waiting:
            call = self._waiting.popleft()
            if call.waiting:
                self._bridge(call, agent)
                return
        if self.pacer.agent_initiated:
            self._push(self.now + PREVIEW_S, PREVIEW, agent)

    def _preview_dial(self, agent: int) -> None:
        if agent in self._ready:
            self._dial(agent)

    def _step(self, step: AgentStep) -> None:
        if step.action == "login":
            self._login(step.count)
            return
        for _ in range(step.count):
            agent = next(iter(self._ready), None)
            if agent is None:
                self._pending.append(step)
                continue
            self._ready.pop(agent)
            self._leave(agent, step)

    def _leave(self, agent: int, step: AgentStep) -> None:
        self._staff(-1)
        if step.action == "pause":
            self._paused.add(agent)
            self._push(self.now + step.for_s, RESUME, agent)

    def _resume(self, agent: int) -> None:
        self._staff(+1)
        self._paused.discard(agent)
        self._free(agent)

    def _login(self, count: int) -> None:
        for _ in range(count):
            self._staff(+1)
            self._next_id += 1
            self._available(self._next_id)

    def _staff(self, delta: int) -> None:
        """Logged-in, unpaused agents change by ``delta``; integrate agent-seconds."""
        self.tally.agent_s += self._staffed * (self.now - self._staffed_since)
        self._staffed_since = self.now
        self._staffed += delta

    def _close(self, end: float) -> None:
        self.now = end
        self._staff(0)
        for started, human in self._talk_start.values():
            if human:
                self.tally.talk_s += end - started
