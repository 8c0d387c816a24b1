"""A throwaway Asterisk on free ports of 127.0.0.1, run as a child process we own.

It runs from a temporary copy of `asterisk-config/` (see `render.py`) with
``asterisk -C <copy>/asterisk.conf -f``; it is ready when ``asterisk -rx 'core show
version'`` answers and ``core waitfullybooted`` returns. It is stopped by its PID
(SIGTERM, then SIGKILL), and :meth:`RealAsterisk.restart` starts it again in place,
with the same ports, secrets and files."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from dialer.testing.build import Build
from dialer.testing.ports import free_port, free_range
from dialer.testing.processes import terminate
from dialer.testing.render import Ports, Secrets, render

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
RTP_PORTS = 200


def allocate_ports() -> Ports:
    rtp = free_range(RTP_PORTS)
    return Ports(ami=free_port(), http=free_port(), sip=free_port(), agi=free_port(),
                 rtp_start=rtp, rtp_end=rtp + RTP_PORTS - 1)


class AsteriskError(RuntimeError):
    """The test Asterisk did not start, answer or stop; the message says where to look."""


@dataclass
class RealAsterisk:
    build: Build
    root: Path
    sounds: Path
    ports: Ports = field(default_factory=allocate_ports)
    keys: Secrets = field(default_factory=Secrets)
    conf: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    # ------------------------------------------------------------------ files

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "full"

    @property
    def console_file(self) -> Path:
        return self.root / "console.log"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    def _env(self) -> dict[str, str]:
        lib = str(self.build.prefix / "lib")
        old = os.environ.get("LD_LIBRARY_PATH", "")
        return {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{old}" if old else lib}

    def prepare(self) -> None:
        if self.conf is None:
            self.conf = render(self.build, self.root, self.ports, self.keys, self.sounds)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        self.prepare()
        assert self.conf is not None
        if self.proc is not None and self.proc.poll() is None:
            raise AsteriskError(f"Asterisk already runs as PID {self.proc.pid}")
        with self.console_file.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.build.binary), "-C", str(self.conf), "-f", "-n", "-q"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self._env(), start_new_session=True)
        self.starts += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            if "Asterisk 22" in self.cli("core show version", check=False):
                self.cli("core waitfullybooted")
                return
            time.sleep(0.2)
        raise AsteriskError(f"Asterisk did not answer within {START_TIMEOUT:.0f} s; "
                            f"see {self.console_file} and {self.log_file}")

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.console_file.read_text(errors="replace")[-2000:]
            raise AsteriskError(f"Asterisk exited with {self.proc.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after STOP_TIMEOUT; the whole session is reaped."""
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate(proc, STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again in place: same ports, secrets and files."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ CLI

    def cli(self, command: str, *, check: bool = True, timeout: float = 20.0) -> str:
        """``asterisk -C ... -rx COMMAND``: its output (raises when ``check`` and it fails)."""
        assert self.conf is not None
        done = subprocess.run([str(self.build.binary), "-C", str(self.conf), "-rx", command],
                              capture_output=True, env=self._env(), timeout=timeout,
                              check=False)
        text = done.stdout.decode(errors="replace")
        if check and done.returncode != 0:
            raise AsteriskError(f"`{command}` failed ({done.returncode}): "
                                f"{done.stderr.decode(errors='replace')[:500]}")
        return text

    def set_global(self, name: str, value: str) -> None:
        """Quoted: the CLI takes ``""`` as the empty value (and refuses a missing one)."""
        if '"' in value or not name.isidentifier():
            raise ValueError(f"global {name!r}: a name and a value without quotes, "
                             f"not {value!r}")
        self.cli(f'dialplan set global {name} "{value}"')

    def hangup_all(self) -> None:
        self.cli("channel request hangup all", check=False)

    def channel_count(self) -> int:
        out = self.cli("core show channels count")
        for line in out.splitlines():
            if "active channel" in line:
                return int(line.split()[0])
        return 0

    def log_lines(self, needle: str) -> list[str]:
        if not self.log_file.is_file():
            return []
        return [ln for ln in self.log_file.read_text(errors="replace").splitlines()
                if needle in ln]
