"""The simulator as a FastAGI client: environment, commands, HANGUP, socket lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk


@dataclass
class AgiServer:
    """A scripted FastAGI server: sends ``script`` and records what comes back."""

    script: list[str]
    close_after: bool = True
    env: dict[str, str] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (line := (await reader.readline()).decode()) not in ("\n", ""):
            key, _, value = line.rstrip("\n").partition(": ")
            self.env[key] = value
        for command in self.script:
            writer.write(command.encode() + b"\n")
            reply = (await reader.readline()).decode().rstrip("\n")
            while reply == "HANGUP":
                self.extra.append(reply)
                reply = (await reader.readline()).decode().rstrip("\n")
            self.replies.append(reply)
        if not self.close_after:
            await self.release.wait()
        with contextlib.suppress(TimeoutError):
            self.extra.append((await asyncio.wait_for(reader.readline(), 0.3)).decode().strip())
        writer.close()
        self.done.set()


@pytest.fixture
async def sim() -> AsyncIterator[SimAsterisk]:
    async with SimAsterisk(seed=4, speed=50).running(ami_port=0, ari_port=None) as s:
        yield s


async def start(server: AgiServer) -> tuple[asyncio.Server, int]:
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


async def originate_agi(sim: SimAsterisk, port: int, number: str = "5550100") -> AmiProbe:
    probe = await AmiProbe.login(sim.host, sim.ami_port)
    await probe.action("Originate", Channel=f"Local/{number}@carrier-sim", Context="dialer-amd",
                       Exten="s", Priority="1", Async="true",
                       Variable=f"DIALER_MODE=agi,DIALER_CALL_ID=agi-1,SIM_TALK=60,"
                       f"DIALER_AGI=127.0.0.1:{port}")
    return probe


async def test_agi_session_sends_environment_and_answers_commands(sim: SimAsterisk) -> None:
    server = AgiServer(["GET VARIABLE DIALER_CALL_ID", "GET VARIABLE NO_SUCH", "ANSWER",
                        "SET VARIABLE DISPO \"sale\"", "GET VARIABLE DISPO",
                        "STREAM FILE no-such-file \"\"", "CHANNEL STATUS", "BOGUS COMMAND"])
    srv, port = await start(server)
    probe = await originate_agi(sim, port)
    await asyncio.wait_for(server.done.wait(), 5)
    assert list(server.env)[:3] == ["agi_network", "agi_network_script", "agi_request"]
    assert server.env["agi_request"] == f"agi://127.0.0.1:{port}/amd"
    assert (server.env["agi_arg_1"], server.env["agi_arg_2"]) == ("HUMAN", "HUMAN-712-700")
    assert server.replies == ["200 result=1 (agi-1)", "200 result=0", "200 result=0",
                              "200 result=1", "200 result=1 (sale)", "200 result=-1 endpos=0",
                              "200 result=6", "510 Invalid or unknown command"]
    status = await probe.wait(lambda m: m.event == "VarSet" and m["Variable"] == "AGISTATUS")
    assert status["Value"] == "SUCCESS"
    await probe.close()
    srv.close()


async def test_hangup_command_is_followed_by_the_unsolicited_hangup_line(
        sim: SimAsterisk) -> None:
    server = AgiServer(["HANGUP", "GET VARIABLE AMDSTATUS", "NOOP"])
    srv, port = await start(server)
    probe = await originate_agi(sim, port)
    await asyncio.wait_for(server.done.wait(), 5)
    assert server.replies == ["200 result=1", "200 result=1 (HUMAN)", "200 result=0"]
    assert "HANGUP" in server.extra
    status = await probe.wait(lambda m: m.event == "VarSet" and m["Variable"] == "AGISTATUS")
    assert status["Value"] == "HANGUP"
    await probe.close()
    srv.close()


async def test_channel_stays_until_the_server_closes_the_socket(sim: SimAsterisk) -> None:
    server = AgiServer(["HANGUP"], close_after=False)
    srv, port = await start(server)
    probe = await originate_agi(sim, port)
    await asyncio.wait_for(_until(lambda: bool(server.replies)), 5)
    await asyncio.sleep(0.2)
    names = [c.name for c in sim.pbx.channels.values()]
    assert any(n.endswith(";1") for n in names), "the ;1 channel left before the socket closed"
    server.release.set()
    await probe.wait(lambda m: m.event == "Hangup" and m["Channel"].endswith(";1"))
    await probe.close()
    srv.close()


async def test_agi_fails_when_nothing_listens(sim: SimAsterisk) -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    probe = await originate_agi(sim, port)
    status = await probe.wait(lambda m: m.event == "VarSet" and m["Variable"] == "AGISTATUS")
    assert status["Value"] == "FAILURE"
    await probe.wait(lambda m: m.event == "Hangup" and m["Channel"].endswith(";1"))
    await probe.close()


async def _until(check: object) -> None:
    while not check():  # type: ignore[operator]
        await asyncio.sleep(0.01)
