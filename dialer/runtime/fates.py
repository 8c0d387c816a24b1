"""What Asterisk noted about a call that no engine was listening to.

When a person answers while no engine is connected, the dialplan (after a failed
`Stasis()`) plays the safe-harbor message itself, takes the opt-out key, and notes the
abandon in a global variable, ``DIALER_ABANDONED_<attempt>`` = ``<epoch>[,optout]``
(`asterisk-config/extensions.conf`). The engine reads and clears it when it closes the
attempt: the abandon is counted, and the opt-out honoured.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.adapters.ari.client import AriClient

PREFIX = "DIALER_ABANDONED_"


@dataclass(frozen=True, slots=True)
class Fate:
    abandoned: bool = False
    optout: bool = False


async def fate_of(ari: AriClient, attempt_id: str) -> Fate:
    """The dialplan's note about this attempt, read once (it is cleared)."""
    name = f"{PREFIX}{attempt_id}"
    value = await ari.get_global(name)
    if not value:
        return Fate()
    await ari.clear_global(name)
    return Fate(abandoned=True, optout=value.split(",")[-1] == "optout")
