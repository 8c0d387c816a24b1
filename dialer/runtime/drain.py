"""Stopping cleanly (SIGTERM): nothing of this engine's is left behind.

Dialing stops; live calls may end by themselves until ``drain_timeout``; what is still
up then is hung up (each call ending with the outcome it earned: a conversation under
way is still ``human``); calls whose end never shows are closed the safe way. Then every
agent's phone is hung up and its bridge destroyed, leases go back, sessions close.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.core.errors import IllegalTransition
from dialer.store import hopper

log = structlog.get_logger("dialer.drain")
HANGUP_WAIT = 5.0  # seconds for hung-up calls to report their end


async def _until(condition: Any, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``condition()``; whether it came true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def drain(parts: Any, engine_id: str, timeout: float) -> None:
    service, executor = parts.service, parts.service.executor
    for dialer in parts.dialers.values():
        dialer.dialing_enabled = False
    calls = service.engine.calls
    if not await _until(lambda: not calls, timeout):
        log.warning("drain deadline: hanging up calls still up", calls=len(calls))
        executor.run([c.HangupCall(aid) for aid in list(calls)])
        if not await _until(lambda: not calls, HANGUP_WAIT):
            for aid in list(calls):
                service.feed(e.CallVanished(aid))
            await _until(lambda: not calls, 1.0)
    await _release_leases(parts, engine_id)
    _log_out_everyone(service)
    await executor.tasks.drain(timeout=HANGUP_WAIT)
    await parts.records.close_all("engine stop")
    executor.timers.cancel_all()
    log.info("drained", calls_left=len(calls))


async def _release_leases(parts: Any, engine_id: str) -> None:
    for dialer in parts.dialers.values():
        leads = [lead.lead_id for lead in dialer.hopper]
        dialer.hopper.clear()
        await hopper.release_leads(parts.pool, leads, engine_id)


def _log_out_everyone(service: Any) -> None:
    for name, agent in list(service.engine.agents.items()):
        if agent.state is AgentState.LOGGED_OUT:
            continue
        try:
            service.apply(e.AgentLogout(name))
        except IllegalTransition:  # mid-call after all: the phone goes anyway
            service.executor.run([c.HangupAgentPhone(name)])
