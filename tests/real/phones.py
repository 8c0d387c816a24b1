"""Agents' SIP softphones: one baresip process per phone, registered as a `pjsip.conf`
agent, answering every call at once, sending a WAV and recording what it receives.

Each phone has its own config folder, SIP port (baresip also opens TLS on port+1), RTP
range and `ctrl_tcp` port. Commands go over ctrl_tcp as netstring JSON."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.testing.ports import free_port, free_range
from dialer.testing.processes import terminate

MODULES = ("g711.so", "aubridge.so", "aufile.so", "sndfile.so")
APP_MODULES = ("account.so", "menu.so", "ctrl_tcp.so")


def _config(sip: int, rtp: int, ctrl: int, source: Path, record: Path) -> str:
    lines = [
        "poll_method epoll", f"sip_listen 127.0.0.1:{sip}", "net_interface 127.0.0.1",
        f"rtp_ports {rtp}-{rtp + 19}", "call_local_timeout 120", "call_max_calls 4",
        "audio_player aubridge,nil", f"audio_source aufile,{source}",
        "audio_alert aubridge,nil", "audio_buffer 20-160", "jitter_buffer_delay 1-10",
        "module_path /usr/lib/baresip/modules",
        *(f"module {m}" for m in MODULES), *(f"module_app {m}" for m in APP_MODULES),
        f"ctrl_tcp_listen 127.0.0.1:{ctrl}", f"snd_path {record}",
    ]
    return "\n".join(lines) + "\n"


def _netstring(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj).encode()
    return str(len(data)).encode() + b":" + data + b","


@dataclass
class Phone:
    """A baresip phone registered as ``name`` at ``registrar`` (host:port)."""

    name: str
    password: str
    registrar: str
    folder: Path
    source: Path
    sip: int = field(default_factory=lambda: free_range(2))
    rtp: int = field(default_factory=lambda: free_range(20))
    ctrl: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _tokens: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def recordings(self) -> Path:
        return self.folder / "received"

    def _account(self) -> str:
        return (f"<sip:{self.name}@{self.registrar}>;auth_pass={self.password};"
                "answermode=auto;audio_codecs=PCMU,PCMA;regint=600;ptime=20\n")

    def start(self) -> None:
        self.recordings.mkdir(parents=True, exist_ok=True)
        (self.folder / "config").write_text(
            _config(self.sip, self.rtp, self.ctrl, self.source, self.recordings))
        (self.folder / "accounts").write_text(self._account())
        (self.folder / "contacts").write_text("")
        with (self.folder / "baresip.log").open("ab") as out:
            self.proc = subprocess.Popen(
                ["baresip", "-f", str(self.folder)], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate(proc, 5)

    # ------------------------------------------------------------------ ctrl_tcp

    async def connect(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    self._reader, self._writer = await asyncio.open_connection(
                        "127.0.0.1", self.ctrl)
                    return
                except OSError:
                    if self.proc is None or self.proc.poll() is not None:
                        raise RuntimeError(f"baresip {self.name} exited; see "
                                           f"{self.folder / 'baresip.log'}") from None
                    await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def command(self, command: str, params: str = "", timeout: float = 5.0
                      ) -> dict[str, Any]:
        """Send one command; return its response (events read meanwhile are kept)."""
        assert self._writer is not None, "connect() first"
        token = f"t{next(self._tokens)}"
        self._writer.write(_netstring({"command": command, "params": params, "token": token}))
        async with asyncio.timeout(timeout):
            while True:
                msg = await self._read()
                if msg.get("response") and msg.get("token") == token:
                    return msg

    async def _read(self) -> dict[str, Any]:
        assert self._reader is not None
        size = int((await self._reader.readuntil(b":"))[:-1])
        data = await self._reader.readexactly(size + 1)
        msg: dict[str, Any] = json.loads(data[:-1])
        if msg.get("event"):
            self.events.append((time.time(), msg))
        return msg

    async def wait_event(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first event of ``kind`` (already seen or still to come)."""
        async with asyncio.timeout(timeout):
            while True:
                seen = next((m for _, m in self.events if m.get("type") == kind), None)
                if seen is not None:
                    return seen
                await self._read()

    async def dial(self, uri: str) -> dict[str, Any]:
        return await self.command("dial", uri)

    async def hangup(self) -> dict[str, Any]:
        return await self.command("hangup")

    def received_files(self) -> list[Path]:
        """WAV files of the audio this phone received, oldest first."""
        return sorted(self.recordings.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)
