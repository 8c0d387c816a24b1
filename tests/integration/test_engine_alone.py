"""A person who answers while no engine listens (ARI down) hears the safe-harbor message
from the dialplan itself, and the engine counts the call abandoned once it learns of it
(Asterisk keeps a note for it); an opt-out key pressed then is honoured."""

from __future__ import annotations

import asyncio

import pytest

from dialer.core.call import CallState
from dialer.sim.record_reader import call_timelines, parse_record
from tests.integration.engine_stack import engine_stack


def _plays(sim, attempt_id: str) -> list:  # type: ignore[no-untyped-def]
    record = parse_record("".join(sim.pbx.record.lines))
    return [p for t in call_timelines(record) if t.id == attempt_id for p in t.plays]


async def _in_amd(run) -> str:  # type: ignore[no-untyped-def]
    """A call the engine saw answered, now running AMD in the dialplan."""
    async with asyncio.timeout(30):
        while True:
            for aid, call in run.parts.service.engine.calls.items():
                channel = run.sim.pbx.by_id.get(aid)
                if call.state is CallState.ANSWERED and channel is not None \
                        and channel.application == "AMD":
                    return aid
            await asyncio.sleep(0.01)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("via", ["ami", "ari"])
async def test_a_person_answering_while_ari_is_down_is_counted_abandoned(
        db_dsn, tmp_path, via: str) -> None:
    async with engine_stack(db_dsn, tmp_path, ["2125550100"], agents=1, via=via,
                            speed=1.0) as run:
        aid = await _in_amd(run)
        run.sim.ari.refuse = True
        run.sim.drop_ari_websockets()
        async with asyncio.timeout(30):
            while not any(p.via == "dialplan" for p in _plays(run.sim, aid)):
                await asyncio.sleep(0.05)
        run.sim.ari.refuse = False
        await run.wait_leads_done(timeout=40)
        row = await run.conn.fetchrow("SELECT outcome, abandoned, live_answer "
                                      "FROM call_attempts WHERE id = $1::uuid", aid)
    assert dict(row) == {"outcome": "abandoned", "abandoned": True, "live_answer": True}


@pytest.mark.timeout(90)
async def test_a_live_answer_sent_to_a_vanished_bridge_is_never_recorded_as_a_bridged_human(
        db_dsn, tmp_path) -> None:
    numbers = ["2125550100", "2125550101", "2125550102"]
    async with engine_stack(db_dsn, tmp_path, numbers, agents=1, speed=10.0) as run:
        for bridge in list(run.sim.pbx.bridges.values()):  # lost without a word
            run.sim.pbx.destroy_bridge(bridge)
        await run.wait_leads_done(timeout=60)
        rows = await run.conn.fetch("SELECT outcome, bridged_at, abandoned FROM call_attempts")
        phones = [c for c in run.sim.pbx.channels.values() if c.role == "agent"]
        assert len(phones) == 1 and phones[0].bridge is not None, "the phone was called again"
    assert len(rows) == len(numbers)
    for row in rows:
        assert (row["outcome"] == "human") == (row["bridged_at"] is not None), dict(row)
        assert row["outcome"] in ("human", "abandoned"), dict(row)
