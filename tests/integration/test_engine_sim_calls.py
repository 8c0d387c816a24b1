"""The engine's adapters, executor and core against the simulated Asterisk over real
sockets: agents log in, calls are placed through AMI and ARI, and every outcome digit
is read correctly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from dialer.adapters.ami.types import AmiConfig
from dialer.adapters.ari.client import AriConfig
from dialer.adapters.executor import Clock, Executor
from dialer.core import events as e
from dialer.core.agent import AgentState
from dialer.core.call import CallPolicy
from dialer.core.campaign import Engine
from dialer.core.commands import LedgerAbandon, LedgerLiveAnswer, Originate
from dialer.runtime import telephony
from dialer.runtime.service import EngineService
from dialer.sim.server import SimAsterisk

SPEED = 20.0


@dataclass
class Sinks:
    """In-process record of what the executor wrote (the database is tested elsewhere)."""

    updates: dict[str, dict[str, object]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    live: int = 0
    abandons: list[int] = field(default_factory=list)
    opt_outs: list[int] = field(default_factory=list)

    def update(self, attempt_id: str, fields: Mapping[str, object]) -> None:
        self.updates.setdefault(attempt_id, {}).update(fields)

    def ended(self, attempt_id: str, outcome: str, at: datetime) -> None:
        self.outcomes[attempt_id] = outcome

    def listen(self, event: object, cmds: list[object]) -> None:
        """The ledgers' view: live answers and abandons from the core's commands."""
        for cmd in cmds:
            if isinstance(cmd, LedgerLiveAnswer):
                self.live += 1
            elif isinstance(cmd, LedgerAbandon):
                self.abandons.append(cmd.phone)

    async def opt_out(self, phone: int, attempt_id: str) -> None:
        self.opt_outs.append(phone)


@dataclass
class Stack:
    sim: SimAsterisk
    service: EngineService
    sinks: Sinks

    def call(self, number: str, via: str = "ami", policy: CallPolicy | None = None) -> str:
        aid = str(uuid.uuid4())
        order = Originate(aid, "demo", int("1" + number), f"Local/{number}@carrier-sim",
                          "+12125550100", 20.0, via)
        self.service.originate(order, policy or CallPolicy("demo"))
        return aid

    async def outcome(self, aid: str, timeout: float = 20.0) -> str:
        async with asyncio.timeout(timeout):
            while aid not in self.sinks.outcomes:
                await asyncio.sleep(0.02)
        return self.sinks.outcomes[aid]

    async def agent_ready(self, name: str, timeout: float = 10.0) -> None:
        self.service.apply(e.AgentLogin(name, f"PJSIP/{name}"))
        async with asyncio.timeout(timeout):
            while self.service.engine.agents[name].state is not AgentState.READY:
                await asyncio.sleep(0.02)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    sim = SimAsterisk(seed=7, speed=SPEED)
    async with sim.running() as running, asyncio.TaskGroup() as tg:
        loop = asyncio.get_running_loop()
        service = EngineService(Engine(wrapup_max=1.0), Clock(loop))
        sinks = Sinks()
        ami = AmiConfig(port=running.ami_port, secret="dialer-secret", ping_interval=5)
        ari = AriConfig(base_url=running.ari_url, password="dialer-secret")
        async with telephony.connect(tg, service, ami=ami, ari=ari) as tel:
            service.executor = Executor(ami=tel.ami, ari=tel.ari, app="dialer",
                                        clock=service.clock, feed=service.feed,
                                        attempts=sinks, ledgers=sinks)
            service.listeners.append(sinks.listen)
            consumer = tg.create_task(service.run())
            async with asyncio.timeout(10):
                while not all(tel.connected.values()):
                    await asyncio.sleep(0.02)
            yield Stack(running, service, sinks)
            consumer.cancel()
            await service.executor.tasks.cancel()
            service.executor.timers.cancel_all()


@pytest.mark.parametrize("via", ["ami", "ari"])
@pytest.mark.parametrize(("digit", "outcome"), [
    ("6", "busy"), ("8", "congestion"), ("9", "answer_hangup"), ("4", "machine")])
async def test_outcome_digit_is_read_correctly(stack: Stack, via: str, digit: str,
                                                outcome: str) -> None:
    aid = stack.call(f"555010{digit}", via)
    assert await stack.outcome(aid) == outcome


@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_human_is_bridged_to_the_longest_idle_agent(stack: Stack, via: str) -> None:
    await stack.agent_ready("agent1")
    aid = stack.call("5550100", via)
    assert await stack.outcome(aid, timeout=30) == "human"
    fields = stack.sinks.updates[aid]
    assert fields["agent"] == "agent1" and "bridged_at" in fields
    assert fields["amd_status"] == "HUMAN"


async def test_human_without_agent_hears_safe_harbor_and_is_abandoned(stack: Stack) -> None:
    aid = stack.call("5550101")
    assert await stack.outcome(aid, timeout=30) == "abandoned"
    assert stack.sinks.abandons == [15550101]
