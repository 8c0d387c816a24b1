"""`dialer bench sim`: load one simulator process over AMI and measure what it sustains.

The simulator runs in a child process (its own event loop, its own core); this process
originates calls at a fixed rate over one AMI connection and counts what comes back.
Every call is a human that answers at once and stays up, so the channels add up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from dialer.adapters.ami.protocol import Parser, encode


@dataclass(frozen=True)
class BenchSettings:
    calls: int = 600
    rate: float = 250.0  # originates per second
    speed: float = 1.0
    timeout_s: float = 60.0


@dataclass
class BenchResult:
    calls: int
    answered: int
    elapsed_s: float
    originate_rate: float
    peak_channels: int
    events: int
    events_per_s: float
    latency_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latency_ms) or [0.0]
        return {
            "calls": self.calls, "answered": self.answered,
            "elapsed_s": round(self.elapsed_s, 3),
            "originates_per_s": round(self.originate_rate, 1),
            "peak_channels": self.peak_channels, "events": self.events,
            "events_per_s": round(self.events_per_s, 1),
            "originate_to_answer_ms": {
                "p50": round(statistics.median(lat), 1),
                "p95": round(lat[int(0.95 * (len(lat) - 1))], 1),
                "max": round(lat[-1], 1)},
        }


def _serve(conn: Any, speed: float) -> None:
    """Child process: run a simulator on free loopback ports until told to stop."""
    from dialer.cmd import run_async
    from dialer.sim.server import SimAsterisk

    async def main() -> int:
        sim = SimAsterisk(seed=1, speed=speed)
        async with sim.running(ari_port=None):
            conn.send(sim.ami_port)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)
        return 0

    run_async(main())


class _Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = Parser(expect_banner=True)
        self.events = 0
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self.results = 0
        self.listing: asyncio.Future[int] | None = None

    async def pump(self) -> None:
        while data := await self.reader.read(1 << 18):
            now = time.monotonic()
            for msg in self.parser.feed(data):
                self._take(msg.event, msg, now)

    def _take(self, event: str | None, msg: Any, now: float) -> None:
        if event is None:
            return
        self.events += 1
        if event == "OriginateResponse":
            self.results += 1
            if msg.get("Reason") == "4":
                self.answered[msg.action_id or ""] = now
        elif event == "CoreShowChannelsComplete" and self.listing is not None:
            self.listing.set_result(int(msg.get("ListItems") or 0))

    def originate(self, n: int) -> None:
        aid = f"b{n}"
        self.sent[aid] = time.monotonic()
        self.writer.write(encode([
            ("Action", "Originate"), ("Channel", f"Local/555{n:07d}0@carrier-sim"),
            ("Context", "dialer-amd"), ("Exten", "amd-event"), ("Priority", "1"),
            ("Async", "true"), ("Variable", "SIM_RING=0,SIM_TALK=3600,DIALER_HOLD=3600"),
            ("ActionID", aid)]))


async def _drive(port: int, s: BenchSettings) -> BenchResult:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = _Client(reader, writer)
    writer.write(encode([("Action", "Login"), ("Username", "dialer"),
                         ("Secret", "dialer-secret")]))
    pump = asyncio.get_running_loop().create_task(client.pump())
    start = time.monotonic()
    for n in range(s.calls):
        await asyncio.sleep(max(start + n / s.rate - time.monotonic(), 0.0))
        client.originate(n)
    deadline = time.monotonic() + s.timeout_s
    while client.results < s.calls and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - start
    client.listing = asyncio.get_running_loop().create_future()
    writer.write(encode([("Action", "CoreShowChannels"), ("ActionID", "list")]))
    peak = await asyncio.wait_for(client.listing, 30)
    writer.close()
    pump.cancel()
    latency = [(t - client.sent[a]) * 1000 for a, t in client.answered.items()]
    return BenchResult(s.calls, len(client.answered), elapsed,
                       client.results / elapsed if elapsed else 0.0, peak, client.events,
                       client.events / elapsed if elapsed else 0.0, latency)


async def run_bench(settings: BenchSettings) -> BenchResult:
    """Start a simulator process, load it, stop it."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, settings.speed), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        port = await loop.run_in_executor(None, parent.recv)
        return await _drive(port, settings)
    finally:
        parent.send("stop")
        await loop.run_in_executor(None, proc.join, 30)
        if proc.is_alive():
            proc.terminate()
