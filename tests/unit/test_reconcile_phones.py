"""When the reconciler calls an agent's phone again: only for a line that was whole
before Asterisk was listed and is not whole in the list."""

from __future__ import annotations

import pytest

from dialer.adapters.agent_lines import Line
from dialer.adapters.ari.models import Bridge, CallerId, Channel
from dialer.core.agent import HUNG_UP, PHONE, Agent, AgentState
from dialer.runtime.reconcile import PHONE_PATIENCE, AsteriskView, Reconciler

NOBODY = CallerId("", "")


def channel(cid: str) -> Channel:
    return Channel(cid, f"PJSIP/{cid}", "Up", NOBODY, NOBODY, None, "")


def view(channels: list[str], bridges: dict[str, list[str]]) -> AsteriskView:
    return AsteriskView(
        {cid: channel(cid) for cid in channels},
        {bid: Bridge(bid, "simple_bridge", "mixing", "", tuple(members))
         for bid, members in bridges.items()})


WHOLE = view(["phone"], {"bridge": ["phone"]})
NO_BRIDGE = view(["phone"], {})
NOTHING = view([], {})
READY = Agent("a1", state=AgentState.READY, since=0.0)
CALLED = Agent("a1", state=AgentState.PAUSED, pause_reason=PHONE, since=0.0)
HUNG = Agent("a1", state=AgentState.PAUSED, pause_reason=HUNG_UP, since=0.0)


def up_line(up_at: float) -> Line:
    return Line("phone", "bridge", since=up_at, up=True, up_at=up_at)


CASES = [
    # agent, line, view, now, fetched, missing
    ("whole line", READY, up_line(1.0), WHOLE, 10.0, 9.0, False),
    ("bridge gone after the line was up", READY, up_line(1.0), NO_BRIDGE, 10.0, 9.0, True),
    ("phone gone after the line was up", READY, up_line(1.0), NOTHING, 10.0, 9.0, True),
    ("dial-in joined after the list was asked for", READY, up_line(9.5), NO_BRIDGE,
     10.0, 9.0, False),
    ("dial-in still joining", READY, Line("phone", "bridge", since=9.0), NO_BRIDGE,
     10.0, 9.5, False),
    ("dial-in never joined", READY, Line("phone", "bridge", since=1.0), NO_BRIDGE,
     1.0 + PHONE_PATIENCE + 0.1, 6.0, True),
    ("ready with no line at all", READY, None, WHOLE, 10.0, 9.0, True),
    ("phone ringing", CALLED, Line("phone", "bridge", since=9.0), NOTHING, 10.0, 9.5, False),
    ("phone never showed up", CALLED, Line("phone", "bridge", since=1.0), NOTHING,
     1.0 + PHONE_PATIENCE + 0.1, 6.0, True),
    ("hung up: the agent decides", HUNG, None, NOTHING, 100.0, 99.0, False),
]


@pytest.mark.parametrize(("agent", "line", "seen", "now", "fetched", "missing"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_phone_is_called_again_only_when_a_whole_line_went_missing(
        agent: Agent, line: Line | None, seen: AsteriskView, now: float, fetched: float,
        missing: bool) -> None:
    assert Reconciler._phone_missing(agent, line, seen, now, fetched) is missing
