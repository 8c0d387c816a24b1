"""FastAGI trace replay: a test server sends the recorded commands to the simulator's
AGI client; the environment and every reply must match the recording (channel names,
uniqueids, thread ids, ports and measured times are not compared)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from dialer.sim.carrier import RECORDED
from dialer.sim.probe import AmiProbe
from dialer.sim.server import SimAsterisk

TRACE_DIR = Path(__file__).resolve().parents[3] / "shared" / "asterisk" / "traces" / "fastagi"
# the calls the recorder placed over AMI for each session (fastagi-ami-side.jsonl)
CALLS = {
    "fastagi-01-human-commands-then-HANGUP-command":
        ("5550100", "DIALER_CALL_ID=agi-human,SIM_RING=2,SIM_TALK=30"),
    "fastagi-02-human-far-end-hangs-up-during-stream":
        ("5550101", "DIALER_CALL_ID=agi-farhangup,SIM_RING=2,SIM_TALK=3"),
    "fastagi-03-machine-stream-and-wait-for-digit":
        ("5550104", "DIALER_CALL_ID=agi-machine,SIM_RING=2"),
    "fastagi-04-human-sends-dtmf-get-data":
        ("5550102", "DIALER_CALL_ID=agi-dtmf,SIM_RING=2,SIM_TALK=30,SIM_DTMF=42,"
                    "SIM_DTMF_DELAY=4"),
}
VOLATILE_ENV = {"agi_channel", "agi_uniqueid", "agi_threadid", "agi_request"}
_ANNOTATION = re.compile(rb"^#@ \+[\d.]+ (<<<|>>>) (?:RECV|SEND) \(\S+ Asterisk\) (\d+) bytes$")


def blocks(path: Path) -> list[tuple[str, str]]:
    """(direction, text) of every recorded wire block: "recv" from Asterisk, "send" to it."""
    data, out, pos = path.read_bytes(), [], 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        line = data[pos:end if end >= 0 else len(data)]
        pos = (end + 1) if end >= 0 else len(data)
        m = _ANNOTATION.match(line)
        if m:
            size = int(m.group(2))
            out.append(("recv" if m.group(1) == b"<<<" else "send",
                        data[pos:pos + size].decode()))
            pos += size
    return out


def normal(reply: str) -> str:
    reply = re.sub(r"Local/\S+?-[0-9a-f]{8};(\d)", r"<chan;\1>", reply)
    reply = re.sub(r"/\d+ms/", "/<ms>ms/", reply)
    return re.sub(r"result=-1 endpos=\d+", "result=-1 endpos=<n>", reply)


class Server:
    def __init__(self, recorded: list[tuple[str, str]]) -> None:
        self.recorded = recorded
        self.env: list[tuple[str, str]] = []
        self.replies: list[str] = []
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (line := (await reader.readline()).decode()) not in ("\n", ""):
            key, _, value = line.rstrip("\n").partition(": ")
            self.env.append((key, value))
        for direction, text in self.recorded:
            if direction == "send" and "agi_" not in text:
                writer.write(text.encode())
                await self._reply(reader)
        await self._trailing(reader)
        writer.close()
        self.done.set()

    async def _reply(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode().rstrip("\n")
            self.replies.append(line)
            if line != "HANGUP":
                return

    async def _trailing(self, reader: asyncio.StreamReader) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 0.3)
        except TimeoutError:
            return
        if line.strip():
            self.replies.append(line.decode().rstrip("\n"))


def recorded_env_and_replies(recorded: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    env: list[str] = []
    replies: list[str] = []
    for direction, text in recorded:
        if direction != "recv":
            continue
        if text.startswith("agi_"):
            env.append(text.rstrip("\n"))
        elif text != "\n":
            replies.append(text.rstrip("\n"))
    return env, replies


@pytest.mark.parametrize("scenario", sorted(CALLS))
async def test_sim_fastagi_replay_matches_recording(scenario: str, traces: Path) -> None:
    recorded = blocks(traces / "fastagi" / f"{scenario}.txt")
    want_env, want_replies = recorded_env_and_replies(recorded)
    server = Server(recorded)
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    number, variables = CALLS[scenario]
    async with SimAsterisk(seed=2, speed=10, carrier=RECORDED).running(ari_port=None) as sim:
        probe = await AmiProbe.login(sim.host, sim.ami_port)
        await probe.action("Originate", Channel=f"Local/{number}@carrier-sim",
                           Context="dialer-amd", Exten="amd-agi", Priority="1", Async="true",
                           Variable=f"{variables},DIALER_AGI=127.0.0.1:{port}")
        await asyncio.wait_for(server.done.wait(), 15)
        await probe.close()
    srv.close()
    got_env = [f"{k}: {v}" for k, v in server.env]
    assert [e.split(":")[0] for e in got_env] == [e.split(":")[0] for e in want_env]
    stable = [e for e in want_env if e.split(":")[0] not in VOLATILE_ENV]
    assert [e for e in got_env if e.split(":")[0] not in VOLATILE_ENV] == stable
    assert [normal(r) for r in server.replies] == [normal(r) for r in want_replies]
