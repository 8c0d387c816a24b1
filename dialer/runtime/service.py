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
from dialer.runtime.fates import fate_of

log = structlog.get_logger("dialer.engine")
FATE_TRIES = (0.5, 1.0, 2.0, 4.0, 8.0)  # waits between reads of a call's note


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
        self._fated: set[str] = set()          # calls whose dialplan note was read
        self._fate_pending: set[str] = set()   # ... being read: their ends wait

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
        if self._needs_fate(event):
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
            self._fated.discard(aid)
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

    def _needs_fate(self, event: object) -> bool:
        """A call hung up before AMD's verdict reached the engine: the dialplan may have
        found nobody listening and noted it (see :mod:`dialer.runtime.fates`). That note
        is read first; the hangup is applied after."""
        if not isinstance(event, e.CallHungUp):
            return False
        if event.attempt_id in self._fate_pending:
            return True  # the same end told again (AMI and ARI): the first one waits
        if event.attempt_id in self._fated or self._state_of(event.attempt_id) != "answered":
            return False
        self._fate_pending.add(event.attempt_id)
        call = self.engine.calls[event.attempt_id]
        self._plumb(self._after_fate(event, call.phone), event.attempt_id)
        return True

    async def _after_fate(self, hangup: e.CallHungUp, phone: int) -> None:
        """Read the dialplan's note (ARI may be down a moment: a few tries), then apply
        the end. A note that cannot be read leaves the safe reading: abandoned."""
        assert self.executor is not None
        for delay in FATE_TRIES:
            try:
                fate = await fate_of(self.executor.ari, hangup.attempt_id)  # type: ignore[arg-type]
            except Exception as exc:  # the end must be applied whatever happens here
                log.warning("note of an answered call not read yet",
                            attempt_id=hangup.attempt_id, error=repr(exc))
                await asyncio.sleep(delay)
                continue
            if fate.optout:
                await self.executor.ledgers.opt_out(phone, hangup.attempt_id)
            self._fated_now(hangup.attempt_id)
            self.feed(e.CallVanished(hangup.attempt_id, abandoned=True) if fate.abandoned
                      else hangup)
            return
        self._fated_now(hangup.attempt_id)
        self.feed(e.CallVanished(hangup.attempt_id))

    def _fated_now(self, attempt_id: str) -> None:
        self._fate_pending.discard(attempt_id)
        self._fated.add(attempt_id)

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
