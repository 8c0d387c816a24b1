"""The engine's event loop: one queue of events, one core, one executor.

Wire events from AMI and ARI, timer expiries and agent requests all go through
:meth:`EngineService.feed` into one queue; a single consumer applies each event to
the core (`Engine.handle`) and hands the commands to the executor. The core therefore
sees events one at a time, in arrival order, and never needs a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from dialer.adapters.executor import Clock, Executor
from dialer.adapters.translate import Answered, Translator
from dialer.core import events as e
from dialer.core.call import Call, CallPolicy, classify
from dialer.core.campaign import Engine
from dialer.core.commands import Command, Originate
from dialer.core.errors import IllegalTransition
from dialer.obs.logging import log_transition

log = structlog.get_logger("dialer.engine")


class EngineService:
    """Owns the core engine and feeds it; ``executor`` performs its commands."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.translator = Translator(self._state_of)
        self.executor: Executor | None = None
        self.listeners: list[Callable[[object, list[Command]], None]] = []
        self.events_handled = 0
        self.dialed_at: dict[str, float] = {}
        self.errors = 0

    def _state_of(self, attempt_id: str) -> str | None:
        call = self.engine.calls.get(attempt_id)
        return None if call is None else call.state.value

    def feed(self, event: object) -> None:
        self.queue.put_nowait(event)

    def feed_ami(self, event: object) -> None:
        for ev in self.translator.from_ami(event):
            self.feed(ev)

    def feed_ari(self, event: object) -> None:
        for ev in self.translator.from_ari(event):
            self.feed(ev)

    # ---------------------------------------------------------------- consumer

    async def run(self) -> None:
        """Apply queued events until cancelled."""
        while True:
            event = await self.queue.get()
            try:
                self.apply(event)
            except Exception:  # a defect must not stop the calls in progress
                log.exception("event failed", kind=type(event).__name__)
                self.errors += 1

    def apply(self, event: object) -> list[Command]:
        """Apply one event now (also used for requests that need the result)."""
        assert self.executor is not None, "attach an executor first"
        if isinstance(event, Answered):
            self._plumb(self.executor.continue_to_amd(event.attempt_id), event.attempt_id)
            return []
        if not self._current_phone(event):
            return []
        before = self._call_of(event)
        try:
            cmds = self.engine.handle(event, self.clock.now())
        except IllegalTransition as exc:
            if isinstance(event, (e.AgentReady, e.AgentPause, e.AgentLogout, e.AgentLogin,
                                  e.AgentDisposition)):
                raise
            log.warning("event ignored", error=str(exc), kind=type(event).__name__)
            return []
        self.events_handled += 1
        if before is not None:
            self._log_step(before, event)
        aid = getattr(event, "attempt_id", None)
        if isinstance(aid, str) and aid not in self.engine.calls:
            self.dialed_at.pop(aid, None)
        self.executor.run(cmds)
        for listener in self.listeners:
            listener(event, cmds)
        return cmds

    def _current_phone(self, event: object) -> bool:
        """News of a phone this engine replaced since (called again) is dropped."""
        assert self.executor is not None
        lines = self.executor.lines
        if isinstance(event, e.AgentPhoneUp):
            return lines.phone_answered(event.agent, event.channel)
        if isinstance(event, e.AgentPhoneDown) and event.channel:
            return lines.is_current(event.agent, event.channel)
        return True

    def _call_of(self, event: object) -> Call | None:
        aid = getattr(event, "attempt_id", None)
        return self.engine.calls.get(aid) if isinstance(aid, str) else None

    def _log_step(self, before: Call, event: object) -> None:
        """Every call transition, as ``state -[event]-> state`` with the call's ids."""
        after = self.engine.calls.get(before.attempt_id)
        state = after.state.value if after is not None else "ended"
        if state == before.state.value:
            return
        agent = (after or before).agent
        log_transition(log, "call", before.state.value, classify(before, event), state,
                       **_fields(before.attempt_id, before.policy.campaign, agent))

    def _plumb(self, coro: Any, key: str) -> None:
        assert self.executor is not None

        async def job() -> None:
            await coro

        self.executor.tasks.submit(key, job)

    def take_over(self, call: Call, cmds: list[Command]) -> None:
        """Follow a call found in Asterisk (adopted after a crash) from now on."""
        assert self.executor is not None
        now = self.clock.now()
        self.dialed_at[call.attempt_id] = now
        cmds = self.engine.adopt(call, cmds, now)
        self.executor.run(cmds)
        for listener in self.listeners:
            listener(call, cmds)

    def originate(self, order: Originate, policy: CallPolicy) -> None:
        assert self.executor is not None
        now = self.clock.now()
        self.dialed_at[order.attempt_id] = now
        cmds = self.engine.originate(order, policy, now)
        self.executor.run(cmds)
        for listener in self.listeners:
            listener(order, cmds)


def _fields(attempt_id: str, campaign: str, agent: str | None) -> dict[str, str]:
    fields = {"attempt_id": attempt_id, "campaign": campaign}
    return {**fields, "agent": agent} if agent else fields
