"""The FastAGI server driven with the exact bytes Asterisk sent in the recorded
sessions (../shared/asterisk/traces/fastagi), over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from dialer.adapters.agi.protocol import AgiProtocolError, AgiReply, parse_reply
from dialer.adapters.agi.server import AgiSession, FastAgiServer

_MARK = re.compile(rb"^#@ \+[\d.]+ (<<< RECV|>>> SEND|NOTE)[^\n]*?(\d+) bytes\n", re.M)


def steps(path: Path) -> list[tuple[str, bytes]]:
    """("recv", bytes Asterisk sent) / ("send", bytes the server sent), in order."""
    data = path.read_bytes()
    out: list[tuple[str, bytes]] = []
    pos = 0
    while (mark := _MARK.search(data, pos)) is not None:
        size = int(mark.group(2))
        chunk = data[mark.end():mark.end() + size]
        pos = mark.end() + size
        kind = {b"<<< RECV": "recv", b">>> SEND": "send"}.get(mark.group(1))
        if kind is not None:
            out.append((kind, chunk))
    return out


async def play_asterisk(port: int, script: list[tuple[str, bytes]]) -> bytes:
    """Act as Asterisk: send the recorded bytes, check each command the server sends,
    and return whatever the server sent after the script (b"" when it just closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for kind, chunk in script:
            if kind == "recv":
                writer.write(chunk)
                await writer.drain()
            else:
                got = await asyncio.wait_for(reader.readexactly(len(chunk)), 5)
                assert got == chunk
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


class Recorder:
    """A handler that sends the recorded commands and keeps the replies."""

    def __init__(self, script: list[tuple[str, bytes]]) -> None:
        self.commands = [c.decode().rstrip("\n") for k, c in script if k == "send"]
        self.replies: list[AgiReply] = []
        self.session: AgiSession | None = None

    async def __call__(self, session: AgiSession) -> None:
        self.session = session
        for line in self.commands:
            self.replies.append(await session.command(line))


async def replay(traces: Path, name: str) -> Recorder:
    (path,) = traces.glob(f"fastagi/{name}*.txt")
    script = steps(path)
    recorder = Recorder(script)
    async with FastAgiServer({"amd": recorder}, port=0) as server:
        leftover = await play_asterisk(server.port, script)
        assert leftover == b""  # the server closed the socket, sending nothing more
        for _ in range(100):
            if server.active_sessions == 0:
                break
            await asyncio.sleep(0.01)
        assert server.active_sessions == 0 and server.stats["completed"] == 1
    return recorder


async def test_full_session_replies_parse_and_the_late_hangup_is_skipped(traces: Path) -> None:
    rec = await replay(traces, "fastagi-01")
    assert rec.session is not None
    env = rec.session.env
    assert (env.script, env.args) == ("amd", ("HUMAN", "HUMAN-800-800"))
    assert env.channel == "Local/5550100@carrier-sim-00000025;1"
    by_cmd = dict(zip(rec.commands, rec.replies, strict=True))
    assert by_cmd["GET VARIABLE DIALER_CALL_ID"].data == "agi-human"
    assert by_cmd["GET VARIABLE NO_SUCH_VARIABLE"] == AgiReply(200, 0, None, None,
                                                               "200 result=0", "0")
    assert by_cmd["GET FULL VARIABLE ${AMDSTATUS}/${AMD_MS}ms/${CHANNEL}"].data == (
        "HUMAN/2287ms/Local/5550100@carrier-sim-00000025;1")
    assert by_cmd['STREAM FILE no-such-file ""'].result == -1
    assert by_cmd['STREAM FILE dialer/beep ""'].endpos == 6400
    assert by_cmd["BOGUS COMMAND"].code == 510 and not by_cmd["BOGUS COMMAND"].ok
    assert rec.session.hung_up
    assert rec.replies[-2].data == "HUMAN"  # GET VARIABLE after the HANGUP line


async def test_far_end_hangup_during_stream_is_recorded_and_commands_still_work(
        traces: Path) -> None:
    rec = await replay(traces, "fastagi-02")
    assert rec.session is not None and rec.session.hung_up
    stream = rec.replies[2]
    assert (stream.result, stream.endpos) == (-1, 17760)
    assert rec.replies[3].data == "HUMAN" and rec.replies[4].ok


async def test_machine_session_wait_for_digit_times_out_without_hangup(traces: Path) -> None:
    rec = await replay(traces, "fastagi-03")
    assert rec.session is not None and not rec.session.hung_up
    assert rec.session.env.args == ("MACHINE", "MAXWORDS-3-2")
    assert rec.replies[3].result == 0


async def test_get_data_returns_the_digits_pressed(traces: Path) -> None:
    rec = await replay(traces, "fastagi-04")
    get_data = rec.replies[rec.commands.index("GET DATA dialer/silence-1 4000 2")]
    assert get_data.result == 42


def test_every_recorded_reply_line_parses(traces: Path) -> None:
    lines = [chunk.decode().rstrip("\n") for path in sorted(traces.glob("fastagi/*.txt"))
             for kind, chunk in steps(path) if kind == "recv"
             and chunk[:1].isdigit() and not chunk.startswith(b"agi_")]
    assert len(lines) > 30
    for line in lines:
        assert parse_reply(line).code in (200, 510)


@pytest.mark.parametrize("line", ["", "OK", "20 result=1", "200 nothing", "200 result=1 (x"])
def test_malformed_reply_lines_are_refused(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)
