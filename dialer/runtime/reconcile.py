"""After a reconnect, the engine's calls are compared with the channels Asterisk
still has. Nothing is replayed: a call whose channel is gone has ended while we were
not listening, and is ended here; a call still there goes on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import structlog

from dialer.core import events as e
from dialer.core.call import Call, CallState

log = structlog.get_logger("dialer.reconcile")


def gone_calls(calls: Mapping[str, Call], live_channels: Iterable[str],
               dialed_at: Mapping[str, float], before: float) -> list[object]:
    """Events that end every call placed before ``before`` whose channel is gone.

    A call still dialing is ended as failed (its OriginateResponse was lost with the
    connection); any other as hung up.
    """
    live = set(live_channels)
    out: list[object] = []
    for attempt_id, call in calls.items():
        if attempt_id in live or dialed_at.get(attempt_id, before) > before:
            continue
        if call.state is CallState.DIALING:
            out.append(e.OriginateFailed(attempt_id, e.DialFailure.FAILED))
        else:
            out.append(e.CallHungUp(attempt_id, 0, "Unknown (gone after a reconnect)"))
    return out
