"""Connections to Asterisk: the AMI client, the ARI client and its event stream,
each running as a task of the caller's TaskGroup, their events pumped into the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from dialer.adapters.ami.client import AmiClient
from dialer.adapters.ami.types import AmiConfig
from dialer.adapters.ari.client import AriClient, AriConfig
from dialer.adapters.ari.stream import AriEventStream
from dialer.adapters.backoff import Connected, Disconnected
from dialer.core import events as e
from dialer.runtime.service import EngineService

StateCallback = Callable[[str, bool], None]


@dataclass
class Telephony:
    ami: AmiClient | None
    ari: AriClient
    stream: AriEventStream
    connected: dict[str, bool]


def _on_state(connected: dict[str, bool], callback: StateCallback | None
              ) -> Callable[[object], None]:
    def note(notice: object) -> None:
        if isinstance(notice, (Connected, Disconnected)):
            up = isinstance(notice, Connected)
            connected[notice.adapter] = up
            if callback is not None:
                callback(notice.adapter, up)
    return note


Reconnected = Callable[[str, float], None]  # (adapter, engine time it came back)


async def _pump_ami(ami: AmiClient, service: EngineService, reconnected: Reconnected) -> None:
    async for item in ami.events():
        if isinstance(item, Connected) and item.session > 1:
            reconnected("ami", service.clock.now())
        elif not isinstance(item, (Connected, Disconnected)):
            service.feed_ami(item)


async def _pump_ari(stream: AriEventStream, service: EngineService,
                    reconnected: Reconnected) -> None:
    async for item in stream.events():
        if isinstance(item, Connected) and item.session > 1:
            reconnected("ari", service.clock.now())
        elif isinstance(item, Disconnected):
            service.feed(e.TelephonyLost())
        elif not isinstance(item, Connected):
            service.feed_ari(item)


@asynccontextmanager
async def connect(tg: asyncio.TaskGroup, service: EngineService, *, ami: AmiConfig | None,
                  ari: AriConfig, reconnected: Reconnected = lambda adapter, at: None,
                  on_state: StateCallback | None = None) -> AsyncIterator[Telephony]:
    """Start the clients inside ``tg``; close them when the block ends."""
    connected = {"ami": False, "ari": False}
    note = _on_state(connected, on_state)
    session = aiohttp.ClientSession()
    ami_client = AmiClient(ami, on_state=note) if ami is not None else None
    stream = AriEventStream(ari, session, on_state=note)
    tel = Telephony(ami_client, AriClient(ari, session), stream, connected)
    tasks = [tg.create_task(stream.run()),
             tg.create_task(_pump_ari(stream, service, reconnected))]
    if ami_client is not None:
        tasks += [tg.create_task(ami_client.run()),
                  tg.create_task(_pump_ami(ami_client, service, reconnected))]
    try:
        yield tel
    finally:
        if ami_client is not None:
            await ami_client.close()
        await stream.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()
