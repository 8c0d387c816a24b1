"""Where the executor's bookkeeping goes: the attempt writer, the campaign's retry
rules, the compliance filter's ledgers and opt-outs, and the metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from dialer.core import commands as c
from dialer.obs import metrics
from dialer.runtime.dialing import CampaignDialer


class Sinks:
    """The executor's AttemptSink and OptOutSink for one engine."""

    def __init__(self, writer: Any, compliance: Any,
                 agent_id: Callable[[str], int | None] = lambda name: None) -> None:
        self.writer, self.compliance, self.agent_id = writer, compliance, agent_id
        self.dialers: dict[str, CampaignDialer] = {}

    def _dialer_of(self, attempt_id: str) -> CampaignDialer | None:
        return next((d for d in self.dialers.values() if attempt_id in d.leads), None)

    def update(self, attempt_id: str, fields: Mapping[str, object]) -> None:
        """The core names agents; the table holds their ids."""
        if "agent" in fields:
            fields = dict(fields)
            name = fields.pop("agent")
            fields["agent_id"] = None if name is None else self.agent_id(str(name))
        self.writer.update(attempt_id, fields)

    def ended(self, attempt_id: str, outcome: str, at: datetime) -> None:
        dialer = self._dialer_of(attempt_id)
        if dialer is not None:
            dialer.ended(attempt_id, outcome, at)

    async def opt_out(self, phone: int, attempt_id: str) -> None:
        await self.compliance.add_opt_out(phone, "keypress", attempt_id=attempt_id)


class MetricsFeed:
    """Turns the core's commands into counters and the answer-to-bridge histogram."""

    def __init__(self, clock_now: Any, keep_samples: bool = False) -> None:
        self._now = clock_now
        self._live_at: dict[str, float] = {}
        self.keep_samples = keep_samples
        self.bridge_samples: list[float] = []

    def __call__(self, event: object, cmds: list[c.Command]) -> None:
        now = self._now()
        for cmd in cmds:
            if isinstance(cmd, c.RecordAttempt):
                self._record(cmd, now)
            elif isinstance(cmd, c.CallEnded):
                self._live_at.pop(cmd.attempt_id, None)
                metrics.record_call(cmd.campaign, cmd.outcome)

    def _record(self, cmd: c.RecordAttempt, now: float) -> None:
        fields = cmd.as_dict()
        status = fields.get("amd_status")
        if isinstance(status, str):
            metrics.record_amd(status)
        if fields.get("live_answer"):
            self._live_at[cmd.attempt_id] = now
        if "bridged_at" in fields and cmd.attempt_id in self._live_at:
            seconds = now - self._live_at.pop(cmd.attempt_id)
            metrics.observe_answer_to_bridge(seconds)
            if self.keep_samples:
                self.bridge_samples.append(seconds)
