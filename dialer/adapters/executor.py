"""The executor: the one place where the core's commands become side effects.

Commands that talk to Asterisk run as owned tasks, serialised per call (a Play is
never overtaken by the Hangup that follows it), so one slow request never stalls the
event loop or another call. Bookkeeping commands (timers, records, ledgers) run at
once. A failed command becomes an event for the core, or a log line when the call is
already gone; it never disappears silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

import structlog

from dialer.adapters.agent_lines import AgentLines
from dialer.adapters.ami.actions import OriginateRequest
from dialer.adapters.ami.types import AmiConnectionLost, AmiDuplicateOriginate, AmiNotConnected
from dialer.adapters.ari.client import AriOriginate
from dialer.adapters.ari.errors import AriConnectionError, AriError
from dialer.adapters.translate import DIALED_ARG
from dialer.core import commands as c
from dialer.core import events as e
from dialer.core.call import TIMERS
from dialer.obs.logging import log_transition

log = structlog.get_logger("dialer.executor")
AMD_CONTEXT = "dialer-amd"


class Clock:
    """Engine time (monotonic seconds) and its wall-clock equivalent."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.time()

    def wall(self, t: float | None = None) -> datetime:
        offset = 0.0 if t is None else t - self._loop.time()
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset, UTC)


class AttemptSink(Protocol):
    def update(self, attempt_id: str, fields: Mapping[str, object]) -> None: ...
    def ended(self, attempt_id: str, outcome: str, at: datetime) -> None: ...


class OptOutSink(Protocol):
    async def opt_out(self, phone: int, attempt_id: str) -> None: ...


class Timers:
    """Named timers per call; firing feeds a TimerFired event back."""

    def __init__(self, loop: asyncio.AbstractEventLoop, feed: Callable[[object], None]) -> None:
        self._loop, self._feed = loop, feed
        self._handles: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def start(self, key: str, name: str, at: float) -> None:
        self.cancel(key, name)
        self._handles[(key, name)] = self._loop.call_at(at, self._fire, key, name)

    def cancel(self, key: str, name: str) -> None:
        handle = self._handles.pop((key, name), None)
        if handle is not None:
            handle.cancel()

    def _fire(self, key: str, name: str) -> None:
        self._handles.pop((key, name), None)
        self._feed(e.TimerFired(key, name))

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def __len__(self) -> int:
        return len(self._handles)


class KeyedTasks:
    """Owned tasks, run one after another per key; errors go to ``on_error``."""

    def __init__(self, on_error: Callable[[str, BaseException], None]) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_error = on_error

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> None:
        prev = self._tails.get(key)
        task = asyncio.get_running_loop().create_task(self._run(key, prev, job))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _run(self, key: str, prev: asyncio.Task[None] | None,
                   job: Callable[[], Awaitable[None]]) -> None:
        if prev is not None:
            await asyncio.wait([prev])
        try:
            await job()
        except Exception as exc:
            self._on_error(key, exc)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        for key, tail in list(self._tails.items()):
            if tail is task:
                del self._tails[key]
        if not task.cancelled() and task.exception() is not None:
            self._on_error("?", task.exception())  # type: ignore[arg-type]

    async def drain(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)


class Executor:
    """Runs commands. ``feed`` hands an event back to the engine."""

    def __init__(self, *, ami: object | None, ari: object, app: str, clock: Clock,
                 feed: Callable[[object], None], attempts: AttemptSink,
                 ledgers: OptOutSink, run_token: str = "00000000") -> None:
        self.ami, self.ari, self.app, self.clock = ami, ari, app, clock
        self.feed, self.attempts, self.ledgers = feed, attempts, ledgers
        self.timers = Timers(asyncio.get_running_loop(), feed)
        self.tasks = KeyedTasks(self._failed)
        self.lines = AgentLines(ari, app, run_token, feed, self.tasks.submit, clock.now)
        self._handlers: dict[type, Callable[[object], None]] = {
            c.Originate: self._originate, c.BridgeToAgent: self._bridge,
            c.LeaveBridge: self._leave_bridge, c.Play: self._play,
            c.DetectTalk: self._detect_talk, c.StopPlayback: self._stop_playback,
            c.HangupCall: self._hangup, c.StartTimer: self._start_timer,
            c.CancelTimer: self._cancel_timer, c.RecordAttempt: self._record,
            c.AddOptOut: self._opt_out, c.LedgerAbandon: self._counted_elsewhere,
            c.LedgerLiveAnswer: self._counted_elsewhere, c.CallEnded: self._ended,
            c.CallAgentPhone: self._call_agent, c.HangupAgentPhone: self._hangup_agent,
            c.AgentStateChanged: self._agent_state,
        }

    def run(self, commands: list[c.Command]) -> None:
        for cmd in commands:
            self._handlers[type(cmd)](cmd)

    # ---------------------------------------------------------------- calls

    def _originate(self, cmd: object) -> None:
        assert isinstance(cmd, c.Originate)
        job = self._originate_ami if cmd.via == "ami" else self._originate_ari
        self.tasks.submit(cmd.attempt_id, lambda: job(cmd))

    def _variables(self, cmd: c.Originate) -> dict[str, str]:
        """Channel variables; the AMI client adds DIALER_ATTEMPT itself."""
        return {"DIALER_CAMPAIGN": cmd.campaign, **dict(cmd.variables)}

    async def _originate_ami(self, cmd: c.Originate) -> None:
        req = OriginateRequest(
            attempt_id=uuid.UUID(cmd.attempt_id), channel=cmd.dial_string, context=AMD_CONTEXT,
            exten="s", caller_id=cmd.caller_id, timeout_ms=int(cmd.ring_timeout * 1000),
            variables=self._variables(cmd))
        try:
            await self.ami.originate(req)  # type: ignore[union-attr]
        except AmiConnectionLost:
            log.warning("originate fate unknown; reconciled after reconnect",
                        attempt_id=cmd.attempt_id)
        except AmiDuplicateOriginate:
            log.error("refused a second originate of one attempt", attempt_id=cmd.attempt_id)
        except AmiNotConnected:
            self.feed(e.OriginateFailed(cmd.attempt_id, e.DialFailure.NOT_SENT))
        except Exception as exc:
            log.warning("originate failed", attempt_id=cmd.attempt_id, error=str(exc))
            self.feed(e.OriginateFailed(cmd.attempt_id, e.DialFailure.FAILED))

    async def _originate_ari(self, cmd: c.Originate) -> None:
        req = AriOriginate(endpoint=cmd.dial_string, channel_id=cmd.attempt_id,
                           other_channel_id=f"{cmd.attempt_id};2", app=self.app,
                           app_args=(DIALED_ARG,), caller_id=cmd.caller_id,
                           timeout_s=int(cmd.ring_timeout),
                           variables={"DIALER_ATTEMPT": cmd.attempt_id, **self._variables(cmd)})
        try:
            await self.ari.originate(req)  # type: ignore[attr-defined]
        except AriConnectionError:
            self.feed(e.OriginateFailed(cmd.attempt_id, e.DialFailure.NOT_SENT))
        except Exception as exc:
            log.warning("originate failed", attempt_id=cmd.attempt_id, error=str(exc))
            self.feed(e.OriginateFailed(cmd.attempt_id, e.DialFailure.FAILED))

    async def continue_to_amd(self, attempt_id: str) -> None:
        """An ARI-originated call answered: run AMD in the dialplan, back to Stasis."""
        await self.ari.call("POST", f"/channels/{attempt_id}/continue",  # type: ignore[attr-defined]
                            params={"context": AMD_CONTEXT, "extension": "s", "priority": "1"})

    def _bridge(self, cmd: object) -> None:
        assert isinstance(cmd, c.BridgeToAgent)
        self.lines.bridge_call(cmd.attempt_id, cmd.agent)

    def _leave_bridge(self, cmd: object) -> None:
        assert isinstance(cmd, c.LeaveBridge)
        self.lines.leave(cmd.attempt_id, cmd.agent)

    def _play(self, cmd: object) -> None:
        assert isinstance(cmd, c.Play)
        media = cmd.media if ":" in cmd.media else f"sound:{cmd.media}"
        self.tasks.submit(cmd.attempt_id, lambda: self._play_or_finish(cmd, media))

    async def _play_or_finish(self, cmd: c.Play, media: str) -> None:
        try:
            await self.ari.play(cmd.attempt_id, media, cmd.playback_id)  # type: ignore[attr-defined]
        except AriError as exc:
            log.info("playback refused", attempt_id=cmd.attempt_id, status=exc.status)
            self.feed(e.PlaybackFinished(cmd.attempt_id, cmd.playback_id))

    def _stop_playback(self, cmd: object) -> None:
        assert isinstance(cmd, c.StopPlayback)
        self.tasks.submit(cmd.attempt_id, lambda: self._stop_quietly(cmd.playback_id))

    async def _stop_quietly(self, playback_id: str) -> None:
        with contextlib.suppress(AriError):  # 404: it had finished already
            await self.ari.stop_playback(playback_id)  # type: ignore[attr-defined]

    def _detect_talk(self, cmd: object) -> None:
        assert isinstance(cmd, c.DetectTalk)
        self.tasks.submit(cmd.attempt_id, lambda: self.ari.set_variable(  # type: ignore[attr-defined]
            cmd.attempt_id, "TALK_DETECT(set)", ""))

    def _hangup(self, cmd: object) -> None:
        assert isinstance(cmd, c.HangupCall)
        self.tasks.submit(cmd.attempt_id, lambda: self._hangup_channel(cmd.attempt_id,
                                                                       cmd.reason))

    async def _hangup_channel(self, channel_id: str, reason: str) -> None:
        try:
            await self.ari.hangup(channel_id, reason)  # type: ignore[attr-defined]
        except AriError as exc:
            if exc.status != 404:
                raise
            self.feed(e.CallHungUp(channel_id))

    def _failed(self, key: str, exc: BaseException) -> None:
        log.warning("command failed", key=key, error=repr(exc))

    # ---------------------------------------------------------------- bookkeeping

    def _start_timer(self, cmd: object) -> None:
        assert isinstance(cmd, c.StartTimer)
        self.timers.start(cmd.attempt_id, cmd.name, cmd.at)

    def _cancel_timer(self, cmd: object) -> None:
        assert isinstance(cmd, c.CancelTimer)
        self.timers.cancel(cmd.attempt_id, cmd.name)

    def _record(self, cmd: object) -> None:
        assert isinstance(cmd, c.RecordAttempt)
        fields = {k: self.clock.wall(v) if k.endswith("_at") and isinstance(v, float) else v
                  for k, v in cmd.fields}
        self.attempts.update(cmd.attempt_id, fields)

    def _opt_out(self, cmd: object) -> None:
        assert isinstance(cmd, c.AddOptOut)
        self.tasks.submit(f"optout:{cmd.attempt_id}",
                          lambda: self.ledgers.opt_out(cmd.phone, cmd.attempt_id))

    def _counted_elsewhere(self, cmd: object) -> None:
        """Ledger commands have no side effect here: each campaign's observer reads them
        from the same command stream to keep its abandonment ledgers."""

    def _ended(self, cmd: object) -> None:
        assert isinstance(cmd, c.CallEnded)
        for name in TIMERS:
            self.timers.cancel(cmd.attempt_id, name)
        self.attempts.ended(cmd.attempt_id, cmd.outcome, self.clock.wall())

    # ---------------------------------------------------------------- agents

    def _call_agent(self, cmd: object) -> None:
        assert isinstance(cmd, c.CallAgentPhone)
        self.lines.call_phone(cmd.agent, cmd.endpoint)

    def _hangup_agent(self, cmd: object) -> None:
        assert isinstance(cmd, c.HangupAgentPhone)
        self.lines.hang_up(cmd.agent)

    def _agent_state(self, cmd: object) -> None:
        assert isinstance(cmd, c.AgentStateChanged)
        log_transition(log, "agent", cmd.old, cmd.event, cmd.new, agent=cmd.agent)
