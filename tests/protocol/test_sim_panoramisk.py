"""A real third-party AMI client (panoramisk) works against the simulator."""

from __future__ import annotations

import asyncio

from panoramisk import Manager

from dialer.sim.server import SimAsterisk


async def test_panoramisk_logs_in_pings_originates_and_receives_events() -> None:
    async with SimAsterisk(seed=2, speed=50).running(ami_port=0, ari_port=None) as sim:
        loop = asyncio.get_running_loop()
        manager = Manager(loop=loop, host=sim.host, port=sim.ami_port, username="dialer",
                          secret="dialer-secret", ping_delay=60, ping_interval=60)
        seen: asyncio.Queue[str] = asyncio.Queue()

        def on_any(_manager: Manager, message: dict[str, str]) -> None:
            seen.put_nowait(message["Event"])

        manager.register_event("*", on_any)
        await manager.connect()
        try:
            pong = await manager.send_action({"Action": "Ping"})
            assert pong.ping == "Pong"
            replies = await asyncio.wait_for(manager.send_action({
                "Action": "Originate", "Channel": "Local/5550101@carrier-sim",
                "Context": "dialer-amd", "Exten": "s", "Priority": "1", "Async": "true",
                "Variable": "DIALER_MODE=event"}), 5)
            # panoramisk gathers an async Originate's reply and its OriginateResponse
            assert replies[0].message == "Originate successfully queued"
            assert (replies[-1].event, replies[-1].reason) == ("OriginateResponse", "4")
            names = set()
            while "UserEvent" not in names:
                names.add(await asyncio.wait_for(seen.get(), 5))
            assert {"Newchannel", "DialBegin", "DialEnd"} <= names
        finally:
            manager.close()
