"""Fuzz: random and truncated AMI input never kills the simulator or leaks a session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

VALID = (b"Action: Login\r\nUsername: dialer\r\nSecret: dialer-secret\r\n\r\n"
         b"Action: Originate\r\nChannel: Local/5550106@carrier-sim\r\nContext: dialer-amd\r\n"
         b"Exten: s\r\nAsync: true\r\nVariable: A=1,B\r\n\r\nAction: Ping\r\n\r\n")

chunks = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=0, max_value=len(VALID)).map(lambda n: VALID[:n]),
    st.sampled_from([b"\r\n\r\n", b":\r\n\r\n", b"Action:\r\n\r\n", b"\n\n\n", b"\x00\xff",
                     b"Action: Login\r\nAuthType: MD5\r\nKey: x\r\n\r\n",
                     b"Action: Challenge\r\nAuthType: nope\r\n\r\n",
                     b"A" * 70000]),
)


ERRORS: list[dict[str, object]] = []


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[asyncio.AbstractEventLoop, SimAsterisk]]:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: ERRORS.append(context))
    sim = SimAsterisk(seed=5, speed=100, login_fail_delay_s=0.01)
    loop.run_until_complete(sim.start(ami_port=0, ari_port=None))
    yield loop, sim
    loop.run_until_complete(sim.stop())
    loop.close()


async def _abuse(sim: SimAsterisk, parts: list[bytes], abort: bool) -> None:
    _reader, writer = await asyncio.open_connection(sim.host, sim.ami_port)
    try:
        with contextlib.suppress(ConnectionError):  # the server may hang up on garbage
            for part in parts:
                writer.write(part)
            await writer.drain()
        await asyncio.sleep(0)
    finally:
        if abort:
            writer.transport.abort()
        else:
            writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _still_serves(sim: SimAsterisk) -> None:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    try:
        assert (await probe.action("Ping"))["Ping"] == "Pong"
    finally:
        await probe.close()
    for _ in range(100):
        if not sim.ami.sessions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(sim.ami.sessions)} AMI sessions leaked")


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(chunks, max_size=6), abort=st.booleans())
def test_sim_survives_random_and_truncated_ami_input(
        running: tuple[asyncio.AbstractEventLoop, SimAsterisk], parts: list[bytes],
        abort: bool) -> None:
    loop, sim = running
    loop.run_until_complete(_abuse(sim, parts, abort))
    loop.run_until_complete(_still_serves(sim))
    assert ERRORS == [], "an exception escaped into the event loop"
