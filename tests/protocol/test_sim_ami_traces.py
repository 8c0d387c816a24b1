"""Trace replay: the client side of every recorded AMI session is sent to the simulator,
and what it answers must match the recording (see dialer.sim.conformance for the rules)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path

import pytest

from dialer.adapters.ami.protocol import Message, Parser, encode
from dialer.sim.carrier import RECORDED
from dialer.sim.conformance import CHANNEL_NAME, Renumber, ami_kept, diff_streams, normalise_ami
from dialer.sim.server import SimAsterisk

TRACE_DIR = Path(__file__).resolve().parents[3] / "shared" / "asterisk" / "traces" / "ami"
SCENARIOS = sorted(p.stem for p in TRACE_DIR.glob("ami-*.jsonl")) if TRACE_DIR.is_dir() else []
SPEED = 25.0
STEP_TIMEOUT_S = 4.0


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Replayer:
    """Sends the recorded client messages, each once the messages recorded before it
    have arrived, and collects everything the simulator sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 recorded: Renumber) -> None:
        self.reader, self.writer = reader, writer
        self.recorded = recorded
        self.simulated = Renumber()
        self.parser = Parser(expect_banner=True)
        self.got: list[Message] = []
        self.kept = 0
        self.closed = False
        self.challenge = ""

    async def pump_until(self, want: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.kept < want and not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                data = await asyncio.wait_for(self.reader.read(65536), left)
            except TimeoutError:
                return
            if not data:
                self.closed = True
                return
            self._take(data)

    def _take(self, data: bytes) -> None:
        for msg in self.parser.feed(data):
            self.got.append(msg)
            for _, value in msg.headers:
                self.simulated.text(value)
            self.challenge = msg.get("Challenge") or self.challenge
            if ami_kept(list(msg.headers)):
                self.kept += 1

    def _translate(self, value: str) -> str:
        """A recorded channel name becomes the simulated channel in the same place."""
        by_label = {label: key for key, label in self.simulated.channels.items()}

        def swap(m: re.Match[str]) -> str:
            label = self.recorded.channels.get(m.group(0))
            return by_label.get(label, m.group(0)) if label else m.group(0)

        return CHANNEL_NAME.sub(swap, value)

    def send(self, headers: list[list[str]], secret: str) -> None:
        pairs = [(k, self._translate(v)) for k, v in headers]
        if any(k == "Key" for k, _ in pairs):
            key = hashlib.md5((self.challenge + secret).encode()).hexdigest()
            pairs = [(k, key if k == "Key" else v) for k, v in pairs]
        self.writer.write(encode(pairs))


async def replay(rows: list[dict], sim: SimAsterisk) -> list[list[tuple[str, str]]]:
    recorded = Renumber()
    for row in rows:
        if row["dir"] == "recv":
            for _, value in row["headers"]:
                recorded.text(value)
    reader, writer = await asyncio.open_connection(sim.host, sim.ami_port)
    rep = Replayer(reader, writer, recorded)
    expected = 0
    for row in rows:
        if row["dir"] == "recv":
            expected += ami_kept([tuple(h) for h in row["headers"]])
            continue
        await rep.pump_until(expected, STEP_TIMEOUT_S)
        rep.send(row["headers"], sim.secret)
    await rep.pump_until(expected, STEP_TIMEOUT_S)
    await rep.pump_until(expected + 1, 0.3)  # anything extra shows up as a difference
    writer.close()
    return [list(m.headers) for m in rep.got]


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_sim_ami_replay_matches_recording(scenario: str, traces: Path) -> None:
    rows = load(traces / "ami" / f"{scenario}.jsonl")
    want = normalise_ami([tuple(h) for h in r["headers"]] for r in rows if r["dir"] == "recv")
    sim = SimAsterisk(seed=3, speed=SPEED, carrier=RECORDED)  # the traces' amd.conf and carrier
    async with sim.running(ami_port=0, ari_port=None):
        got = normalise_ami(await replay(rows, sim))
        assert sim.errors == []
    problems = diff_streams(want, got)
    assert not problems, "\n".join(problems[:6])
