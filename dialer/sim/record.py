"""The simulator's own record of what happened: one JSON object per line.

The PBX writes a line as each thing happens, independently of what any engine believes,
so a chaos checker can judge the engines against it. Every line has ``t`` (wall-clock
epoch seconds, float) and ``kind``; the fields of each kind are listed in
``docs/sim-control.md`` and read back by :mod:`dialer.sim.record_reader`.

The record is kept in memory (the newest lines, up to ``limit``; when it is full the
oldest half is dropped, and line indices keep counting) and, when a file is opened,
appended to it with one ``write()`` per line on an ``O_APPEND`` descriptor, so a
``kill -9`` loses nothing that was written. A process that opens a file whose last line
was torn starts on a fresh line. If a write fails (a full disk), the file is closed at
that point, the error is kept in :attr:`SimRecord.error` and logged, and the record goes
on in memory only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from dialer.sim.channels import Channel

log = logging.getLogger(__name__)
DEFAULT_LIMIT = 100_000
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def role_of(ch: Channel) -> str:
    """``customer`` (a called party's call), ``agent`` (an agent's phone), or ``other``."""
    if ch.role == "customer":
        return "customer"
    return "agent" if ch.role == "agent" else "other"


class SimRecord:
    """The append-only record of one simulator process."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 2:
            raise ValueError(f"record limit must be at least 2, got {limit}")
        self.limit = limit
        self.lines: list[str] = []
        self.dropped = 0  # lines forgotten from memory (still in the file, if any)
        self.path: Path | None = None
        self._fd: int | None = None
        self.error: OSError | None = None

    # ---- writing --------------------------------------------------------------------

    def add(self, kind: str, **fields: Any) -> None:
        """Record one thing that happened now."""
        rest = _encode(fields)[1:]  # the fields' JSON object without its opening brace
        sep = "," if fields else ""
        line = f'{{"t":{time.time()!r},"kind":"{kind}"{sep}{rest}\n'
        if len(self.lines) >= self.limit:
            half = self.limit // 2
            del self.lines[:half]
            self.dropped += half
        self.lines.append(line)
        fd = self._fd
        if fd is not None:
            self._write(fd, line.encode())

    def _write(self, fd: int, data: bytes) -> None:
        try:
            os.write(fd, data)
        except OSError as exc:
            self.error = OSError(f"cannot write the simulator record {self.path}: {exc}")
            log.error("%s; recording in memory only from now on", self.error)
            self.close()

    def open(self, path: str | Path) -> None:
        """Append every line from now on to ``path`` (created if missing)."""
        self.close()
        target = Path(path)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OSError(f"cannot open the simulator record {target}: {exc}") from exc
        if _ends_torn(target):
            os.write(fd, b"\n")
        self._fd, self.path = fd, target

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---- reading back ---------------------------------------------------------------

    @property
    def next_index(self) -> int:
        """The index the next line will have (lines are numbered from 0 per process)."""
        return self.dropped + len(self.lines)

    def since(self, index: int) -> tuple[int, list[str]]:
        """Lines from ``index`` on (or from the oldest kept): (first index, lines)."""
        first = max(index, self.dropped)
        return first, self.lines[first - self.dropped:]


def _ends_torn(path: Path) -> bool:
    """True when the file is not empty and its last byte is not a line end."""
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"
