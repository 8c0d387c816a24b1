"""CPU time of processes from ``/proc`` (Linux), for benchmarks that put the engine,
Asterisk and PostgreSQL side by side."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


class ProcStatError(RuntimeError):
    """A process's CPU time could not be read; the message names the process and file."""


def _fields(pid: int) -> list[str]:
    path = PROC / str(pid) / "stat"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProcStatError(f"cannot read the CPU time of PID {pid} from {path}: {exc}") from None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds that ``pid`` has used so far (all its threads)."""
    f = _fields(pid)
    return (int(f[11]) + int(f[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_fields(int(entry.name))[1])
            except (ProcStatError, IndexError, ValueError):
                continue  # gone meanwhile
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``, its reaped children and its live descendants (a server
    that forks a process per connection, such as PostgreSQL)."""
    tree, total, todo = _children(), 0.0, [pid]
    while todo:
        one = todo.pop()
        try:
            f = _fields(one)
        except ProcStatError:
            if one == pid:
                raise
            continue
        total += sum(int(x) for x in f[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
        todo.extend(tree.get(one, []))
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in first[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return float(sum(ticks) - idle), float(sum(ticks))


@dataclass
class CpuMeter:
    """CPU shares between readings (1.0 = one core busy) of named processes, and of
    the whole machine (1.0 = every core busy)."""

    pids: dict[str, tuple[int, bool]]  # name -> (pid, with its descendants)
    _last: dict[str, float] = field(default_factory=dict)
    _at: float = 0.0
    _machine: tuple[float, float] = (0.0, 0.0)

    def _read(self) -> dict[str, float]:
        return {name: tree_cpu_seconds(pid) if tree else cpu_seconds(pid)
                for name, (pid, tree) in self.pids.items()}

    def start(self, now: float) -> None:
        self._last, self._at, self._machine = self._read(), now, machine_busy()

    def shares(self, now: float) -> dict[str, float]:
        """Each process's share since the last reading (and ``machine``); a new reading."""
        cpu, machine, elapsed = self._read(), machine_busy(), now - self._at
        out = {name: (cpu[name] - self._last[name]) / elapsed if elapsed > 0 else 0.0
               for name in cpu}
        busy, total = machine[0] - self._machine[0], machine[1] - self._machine[1]
        out["machine"] = busy / total if total > 0 else 0.0
        self._last, self._at, self._machine = cpu, now, machine
        return out
