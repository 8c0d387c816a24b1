"""Wire events (typed AMI and ARI events) to the core's events.

Ids: an attempt's UUID is its channel id on both interfaces (AMI ``ChannelId`` sets
the ``Uniqueid``; ARI ``channelId``). An agent's nailed-up channel is named
``agent-<name>-<run>.<n>`` and enters Stasis with the args ``agent,<name>``; its
holding bridge has an id of the same form (see :mod:`dialer.adapters.agent_lines`).
Playback ids are ``<attempt>:<n>``.

Facts from the traces that shape this:
* OriginateResponse decides an AMI attempt's failure: the ``;1`` Hangup of a busy or
  congested call carries Cause 0, so a Hangup while the attempt is still dialing is
  ignored and the Reason is used instead.
* ARI attempts are originated into the Stasis app with args ``dialed``: their
  StasisStart means answered; the Dial event's dialstatus gives busy and congestion,
  and a ring timeout shows only as ChannelDestroyed with cause 19.
* After Stasis(dialer,${AMDSTATUS},${AMDCAUSE}) the StasisStart args are the AMD
  verdict; a channel that entered Stasis from the dialplan sends StasisEnd, but no
  ChannelDestroyed, when it hangs up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialer.adapters.ami import events as ami
from dialer.adapters.ami.actions import attempt_from_action_id
from dialer.adapters.ari import events as ari
from dialer.core import events as e
from dialer.core.call import GreetingEnded

DIALED_ARG = "dialed"
AGENT_ARG = "agent"

_REASONS = {
    ami.OriginateReason.BUSY: e.DialFailure.BUSY,
    ami.OriginateReason.NO_ANSWER: e.DialFailure.NO_ANSWER,
    ami.OriginateReason.CONGESTION: e.DialFailure.CONGESTION,
}
_DIALSTATUS = {"BUSY": e.DialFailure.BUSY, "NOANSWER": e.DialFailure.NO_ANSWER,
               "CONGESTION": e.DialFailure.CONGESTION, "CHANUNAVAIL": e.DialFailure.FAILED,
               "CANCEL": e.DialFailure.NO_ANSWER, "INVALIDARGS": e.DialFailure.FAILED}


@dataclass(frozen=True, slots=True)
class Answered:
    """An ARI-originated attempt answered: it must now run AMD in the dialplan."""

    attempt_id: str


def agent_of_channel(channel_id: str) -> str | None:
    """The agent whose nailed-up channel this is (``agent-<name>-<run>.<n>``)."""
    if not channel_id.startswith("agent-"):
        return None
    name, sep, _ = channel_id.removeprefix("agent-").rpartition("-")
    return name if sep else None


def attempt_of_playback(playback_id: str) -> str:
    return playback_id.rpartition(":")[0] or playback_id


class Translator:
    """Turns wire events into core events.

    ``state_of(attempt_id)`` gives the call's state (None: not ours). A Hangup while
    dialing is left to the OriginateResponse; a StasisEnd while waiting for AMD is the
    call leaving Stasis to run AMD in the dialplan, not a hangup.
    """

    def __init__(self, state_of: Callable[[str], str | None]) -> None:
        self._state_of = state_of
        self._agent_channels: dict[str, str] = {}  # channel id -> agent (dialled in)

    def note_agent_channel(self, channel_id: str, agent: str) -> None:
        """A dialled-in phone adopted after a restart (its StasisStart was not seen)."""
        self._agent_channels[channel_id] = agent

    def _is_dialing(self, attempt_id: str) -> bool:
        return self._state_of(attempt_id) == "dialing"

    # ------------------------------------------------------------------ AMI

    def from_ami(self, event: object) -> list[object]:
        if isinstance(event, ami.OriginateResponse):
            return self._originate_response(event)
        if isinstance(event, ami.Hangup):
            if event.uniqueid.endswith(";2") or self._is_dialing(event.uniqueid):
                return []
            return [e.CallHungUp(event.uniqueid, event.cause, event.cause_txt)]
        return []

    def _originate_response(self, ev: ami.OriginateResponse) -> list[object]:
        attempt = attempt_from_action_id(ev.action_id)
        if attempt is None:
            return []
        if ev.reason is ami.OriginateReason.ANSWERED:
            return [e.CallAnswered(str(attempt), ev.channel)]
        return [e.OriginateFailed(str(attempt), _REASONS.get(ev.reason, e.DialFailure.FAILED))]

    # ------------------------------------------------------------------ ARI

    def from_ari(self, event: object) -> list[object]:
        handler = _ARI.get(type(event))
        return handler(self, event) if handler else []

    def _stasis_start(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.StasisStart)
        cid, args = ev.channel.id, ev.args
        if args[:1] == (AGENT_ARG,) and len(args) > 1:
            self._agent_channels[cid] = args[1]
            return [e.AgentPhoneUp(args[1], cid)]
        if args[:1] == (DIALED_ARG,):
            return [e.CallAnswered(cid, ev.channel.name), Answered(cid)]
        if args and args[0] in e.AmdStatus.__members__:
            cause = args[1] if len(args) > 1 else ""
            return [e.AmdDetected(cid, e.AmdStatus(args[0]), cause)]
        return []

    def _gone(self, channel_id: str, cause: int = 16, txt: str = "Normal Clearing"
              ) -> list[object]:
        agent = self._agent_channels.pop(channel_id, None) or agent_of_channel(channel_id)
        if agent is not None:
            return [e.AgentPhoneDown(agent, channel_id)]
        if channel_id.endswith(";2"):
            return []
        return [e.CallHungUp(channel_id, cause, txt)]

    def _stasis_end(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.StasisEnd)
        if self._state_of(ev.channel.id) in ("dialing", "answered"):
            return []  # leaving Stasis for the AMD dialplan, not a hangup
        return self._gone(ev.channel.id)

    def _destroyed(self, ev: object) -> list[object]:
        """While dialing, busy and congestion were already told by the Dial event (the
        ``;1`` cause is 0); a ring timeout has no such Dial status, only cause 19."""
        assert isinstance(ev, ari.ChannelDestroyed)
        return self._gone(ev.channel.id, ev.cause, ev.cause_txt)

    def _dial(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.Dial)
        failure = _DIALSTATUS.get(ev.dialstatus)
        peer = ev.peer.id.removesuffix(";2")
        if failure is None or not self._is_dialing(peer):
            return []
        return [e.OriginateFailed(peer, failure)]

    def _dtmf(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.ChannelDtmfReceived)
        return [e.DtmfReceived(ev.channel.id, ev.digit)]

    def _playback_finished(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.PlaybackFinished)
        return [e.PlaybackFinished(attempt_of_playback(ev.playback.id), ev.playback.id)]

    def _entered_bridge(self, ev: object) -> list[object]:
        assert isinstance(ev, ari.ChannelEnteredBridge)
        if ev.channel.id in self._agent_channels or agent_of_channel(ev.channel.id) is not None:
            return []
        return [e.BridgeJoined(ev.channel.id)]


def _talk_finished(self: Translator, ev: object) -> list[object]:
    assert isinstance(ev, ari.ChannelTalkingFinished)
    if self._state_of(ev.channel.id) != "machine_wait":
        return []
    return [GreetingEnded(ev.channel.id)]


_ARI: dict[type, Callable[[Translator, object], list[object]]] = {
    ari.ChannelTalkingFinished: _talk_finished,
    ari.StasisStart: Translator._stasis_start,
    ari.StasisEnd: Translator._stasis_end,
    ari.ChannelDestroyed: Translator._destroyed,
    ari.Dial: Translator._dial,
    ari.ChannelDtmfReceived: Translator._dtmf,
    ari.PlaybackFinished: Translator._playback_finished,
    ari.ChannelEnteredBridge: Translator._entered_bridge,
}
