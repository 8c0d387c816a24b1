"""Called parties and simulated agents.

A human answers, says hello, and then waits: if nobody talks to them within their
patience they hang up; once bridged with an agent they talk for ``talk_s`` and hang up.
A human who hears a message while the plan says ``optout`` presses the opt-out key.
A machine plays its greeting and hangs up after a recording window. An agent softphone
answers at once and stays up; when its customer leaves, the agent wraps up for
``CalleeModel.wrapup_s`` and then ``on_wrapup_done(agent_name, info)`` is awaited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from dialer.sim.channels import Bridge, Channel
from dialer.sim.dialplan import HELLO_S, MACHINE_RECORD_S, Dialplan
from dialer.sim.model import CalleeModel, Outcome

log = logging.getLogger(__name__)
DTMF_AFTER_S = 1.7  # a carrier's scripted keys (SIM_DTMF) come after its hello
TALK_START_S = 0.8
HUMAN_SPEECH_S = 4.0  # "Hello?" and the pause until talk detection calls it silence
MACHINE_SILENCE_S = 5.0  # a greeting, its beep, and the silence before talk ends
WrapupHook = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]


async def _no_wrapup(agent: str, info: dict[str, Any]) -> None:
    """The default wrap-up hook does nothing."""


class Parties(Dialplan):
    """Dialplan plus the behaviour of called parties and agents."""

    def __init__(self, *, model: CalleeModel | None = None, speed: float = 1.0,
                 app_name: str = "dialer", optout_digit: str = "9",
                 on_wrapup_done: WrapupHook | None = None) -> None:
        super().__init__(model=model, speed=speed, app_name=app_name)
        self.optout_digit = optout_digit
        self.on_wrapup_done: WrapupHook = on_wrapup_done or _no_wrapup
        self.hook_tasks: set[asyncio.Task[None]] = set()
        self.hook_errors: list[BaseException] = []

    # ---- the called party -----------------------------------------------------------

    def far_answered(self, far: Channel) -> None:
        plan = far.plan
        if plan is None or far.role != "callee":
            return
        delay = far.variables.get("SIM_DTMF_DELAY", "")
        start = HELLO_S + float(delay) if delay.replace(".", "", 1).isdigit() else DTMF_AFTER_S
        for i, digit in enumerate(far.variables.get("SIM_DTMF", "")):
            self._scripted_key(far, start + i * 0.35, digit)
        talk = far.variables.get("SIM_TALK")
        if talk and talk.replace(".", "", 1).isdigit():
            self._far_after(far, HELLO_S + float(talk))
        elif plan.outcome is Outcome.HUMAN:
            self._far_after(far, plan.amd_s + plan.patience_s)
        elif plan.outcome is Outcome.MACHINE:
            self._far_after(far, plan.greeting_s + MACHINE_RECORD_S)
        elif plan.outcome is Outcome.ANSWER_HANGUP:
            self._far_after(far, plan.hangup_after_s)

    def _scripted_key(self, far: Channel, delay_s: float, digit: str) -> None:
        near = far_of(far)
        self.later(far, delay_s, lambda: self.send_dtmf(near, digit))

    def _far_after(self, far: Channel, delay_s: float) -> None:
        if far.far_timer is not None:
            far.far_timer.cancel()
        far.far_timer = self.later(far, delay_s, lambda: self.hangup(far))

    def far_gone(self, one: Channel, cause: int) -> None:
        if one.application == "AMD":
            self.record.add("amd", id=one.ari_id, number=one.number, status="HANGUP",
                            cause="")
            self.setvar(one, "AMDSTATUS", "HANGUP")
            self.setvar(one, "AMDCAUSE", "")
            self.chan_event("SoftHangupRequest", one, [("Cause", str(cause))])
        super().far_gone(one, cause)

    def heard_message(self, one: Channel) -> None:
        """A recording finished playing to the customer's channel ``one``."""
        plan = one.plan
        if plan is None or one.role != "customer" or one.talking_with is not None:
            return
        if plan.optout and self.optout_digit:
            self.later(one, 0.5, lambda: self.send_dtmf(one, self.optout_digit))

    def send_dtmf(self, ch: Channel, digits: str) -> None:
        """The far end presses keys; the channel's DTMF observers hear them."""
        if ch.gone:
            return
        self.record.add("dtmf", id=ch.ari_id, number=ch.number, digits=digits)
        for digit in digits:
            self.notify("dtmf", channel=ch, digit=digit, duration_ms=100)
            if ch.agi is not None:
                ch.agi.dtmf(digit)

    def talk_detect(self, ch: Channel) -> None:
        """TALK_DETECT was set on ``ch``: report the far end's speech once."""
        plan = ch.plan
        if plan is None or plan.outcome not in (Outcome.HUMAN, Outcome.MACHINE):
            return
        speech = (HUMAN_SPEECH_S if plan.outcome is Outcome.HUMAN
                  else plan.greeting_s + MACHINE_SILENCE_S)
        self.later(ch, TALK_START_S, lambda: self.notify("talking", channel=ch, started=True))
        self.later(ch, TALK_START_S + speech, lambda: self.notify(
            "talking", channel=ch, started=False, duration_ms=int(speech * 1000)))

    # ---- agents ---------------------------------------------------------------------

    def enter_bridge(self, b: Bridge, ch: Channel) -> None:
        super().enter_bridge(b, ch)
        customer = next((c for c in b.channels if c.role == "customer"), None)
        agent = next((c for c in b.channels if c.role == "agent"), None)
        if customer is None or agent is None or customer.talking_with is agent:
            return
        customer.talking_with, agent.talking_with = agent, customer
        far = far_of(customer)
        plan = customer.plan
        if plan is not None and "SIM_TALK" not in far.variables and far.role == "callee":
            talk = plan.talk_s if plan.outcome is Outcome.HUMAN else 1.0
            self._far_after(far, talk)

    def leave_bridge(self, ch: Channel) -> None:
        partner = ch.talking_with
        super().leave_bridge(ch)
        if partner is None:
            return
        ch.talking_with = partner.talking_with = None
        agent, customer = (ch, partner) if ch.role == "agent" else (partner, ch)
        if agent.role == "agent" and not agent.hangup_pending:
            self._wrapup(agent, customer)

    def _wrapup(self, agent: Channel, customer: Channel) -> None:
        info = {"agent_channel": agent.name, "customer_channel": customer.name,
                "customer_uniqueid": customer.uniqueid, "customer_id": customer.ari_id,
                "call_id": customer.variables.get("DIALER_CALL_ID", ""),
                "ended_at": time.time()}
        name = agent.agent_name or agent.exten
        wrap = self.model.wrapup_s(time.time() - self.started)
        self.later(agent, wrap, lambda: self._run_hook(name, info))

    def _run_hook(self, name: str, info: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self.on_wrapup_done(name, info))
        self.hook_tasks.add(task)
        task.add_done_callback(self._hook_done)

    def _hook_done(self, task: asyncio.Task[None]) -> None:
        self.hook_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self.hook_errors.append(exc)
            log.error("on_wrapup_done failed: %r", exc)


def far_of(ch: Channel) -> Channel:
    return ch.peer if ch.peer is not None else ch
