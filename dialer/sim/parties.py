"""Called parties and simulated agents.

The test carrier's person (a ``scripted`` plan, or any human with ``SIM_TALK``) follows
`extensions.conf` with the timings of :mod:`dialer.sim.carrier`: hello, scripted keys,
hello again, and a hang-up ``talk_s`` later whoever talks to them. Another human (a
scenario file's) waits: if nobody talks to them within their patience they hang up;
once bridged with an agent they talk for ``talk_s`` and hang up. A human who hears a
message while the plan says ``optout`` presses the opt-out key. A machine plays its
greeting and beep and hangs up after a recording window. An agent softphone
answers at once and stays up; when its customer leaves, the agent wraps up for
``CalleeModel.wrapup_s`` and then ``on_wrapup_done(agent_name, info)`` is awaited.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from dialer.sim.carrier import (
    SHIPPED,
    CarrierProfile,
    PersonScript,
    machine_hangup,
    machine_speech,
    person_script,
    talk_detected,
)
from dialer.sim.channels import Bridge, Channel
from dialer.sim.dialplan import Dialplan
from dialer.sim.model import CalleeModel, Outcome

log = logging.getLogger(__name__)
WrapupHook = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]


async def _no_wrapup(agent: str, info: dict[str, Any]) -> None:
    """The default wrap-up hook does nothing."""


class Parties(Dialplan):
    """Dialplan plus the behaviour of called parties and agents."""

    def __init__(self, *, model: CalleeModel | None = None, speed: float = 1.0,
                 app_name: str = "dialer", optout_digit: str = "9",
                 on_wrapup_done: WrapupHook | None = None,
                 carrier: CarrierProfile = SHIPPED) -> None:
        super().__init__(model=model, speed=speed, app_name=app_name)
        self.optout_digit = optout_digit
        self.carrier = carrier
        self.on_wrapup_done: WrapupHook = on_wrapup_done or _no_wrapup
        self.hook_tasks: set[asyncio.Task[None]] = set()
        self.hook_errors: list[BaseException] = []

    # ---- the called party -----------------------------------------------------------

    def far_answered(self, far: Channel) -> None:
        plan = far.plan
        if plan is None or far.role != "callee":
            return
        if plan.outcome is Outcome.HUMAN:
            self._person(far)
        elif plan.outcome is Outcome.MACHINE:
            self._far_after(far, machine_hangup(self.carrier, plan.greeting_s))
        elif plan.outcome is Outcome.ANSWER_HANGUP:
            self._far_after(far, plan.hangup_after_s)

    def _person(self, far: Channel) -> None:
        """The carrier's person: their scripted keys, and when they hang up (by the
        script, or after their patience when nobody comes)."""
        script, plan = self.script(far), far.plan
        assert plan is not None
        near = far_of(far)
        for at_s, key in script.keys:
            self._scripted_key(far, near, at_s, key)
        if self.scripted(far):
            self._far_after(far, script.hangup_s)
        else:
            self._far_after(far, plan.amd_s + plan.patience_s)

    def script(self, far: Channel) -> PersonScript:
        """What the carrier's person on ``far`` does, after `extensions.conf` and the
        SIM_TALK, SIM_DTMF and SIM_DTMF_DELAY variables (channel, else global)."""
        plan = far.plan
        talk = _seconds(self.chan_var(far, "SIM_TALK"))
        if talk is None:
            talk = plan.talk_s if plan is not None else 0.0
        return person_script(self.carrier, talk, self.chan_var(far, "SIM_DTMF"),
                             _seconds(self.chan_var(far, "SIM_DTMF_DELAY")))

    def scripted(self, far: Channel) -> bool:
        """The person hangs up by the script, bridged or not."""
        plan = far.plan
        return (plan is not None and plan.scripted) or \
            _seconds(self.chan_var(far, "SIM_TALK")) is not None

    def _scripted_key(self, far: Channel, near: Channel, delay_s: float, digit: str) -> None:
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
        """TALK_DETECT was set on ``ch``: report the far end's speech from now on, as
        Asterisk would (:func:`dialer.sim.carrier.talk_detected`)."""
        plan = ch.plan
        if plan is None or plan.outcome not in (Outcome.HUMAN, Outcome.MACHINE) \
                or not ch.answered_at:
            return
        speech = self.script(far_of(ch)).speech if plan.outcome is Outcome.HUMAN \
            else machine_speech(self.carrier, plan.greeting_s)
        now_s = (time.monotonic() - ch.answered_at) * self.speed
        talk = talk_detected(self.carrier, speech, now_s)
        if talk is None:
            return
        self.later(ch, talk.started_s - now_s,
                   lambda: self.notify("talking", channel=ch, started=True))
        self.later(ch, talk.finished_s - now_s, lambda: self.notify(
            "talking", channel=ch, started=False, duration_ms=talk.duration_ms))

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
        if plan is not None and far.role == "callee" and not self.scripted(far):
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


def _seconds(text: str) -> float | None:
    """A SIM_* duration, or None when it is unset or not a number."""
    try:
        return float(text) if text else None
    except ValueError:
        return None
