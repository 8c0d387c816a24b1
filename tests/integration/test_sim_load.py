"""Many calls of every outcome at once: every call ends, nothing leaks, no timer fails."""

from __future__ import annotations

import asyncio
from collections import Counter

from dialer.adapters.ami.protocol import encode
from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

CALLS = 300


async def test_hundreds_of_mixed_calls_all_end_and_leave_no_channel() -> None:
    async with SimAsterisk(seed=8, speed=200).running(ari_port=None) as sim:
        probe = await AmiProbe.login(sim.host, sim.ami_port)
        for n in range(CALLS):
            probe.writer.write(encode([
                ("Action", "Originate"), ("Channel", f"Local/5551{n:03d}@carrier-sim"),
                ("Context", "dialer-amd"), ("Exten", "s"), ("Async", "true"),
                ("Variable", "DIALER_MODE=event,DIALER_HOLD=2"), ("ActionID", f"c{n}")]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (len(probe.events("OriginateResponse")) < CALLS or sim.channel_count()) \
                and loop.time() < deadline:
            await probe.read(0.1)
        reasons = Counter(m["Reason"] for m in probe.events("OriginateResponse"))
        assert sum(reasons.values()) == CALLS
        assert set(reasons) == {"3", "4", "5", "8"}
        assert sim.channel_count() == 0
        while len(probe.events("Hangup")) < 2 * CALLS and loop.time() < deadline + 10:
            await probe.read(0.1)  # events already sent may still be in the socket
        hangups = len(probe.events("Hangup"))
        assert hangups == 2 * CALLS
        assert sim.errors == []
        await probe.close()
