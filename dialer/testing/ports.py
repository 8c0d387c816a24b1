"""Free ports on 127.0.0.1 for throwaway Asterisk instances and SIP phones.

A port is free when it can be bound; ports handed out by this process are remembered
so that two instances of one run never get the same one."""

from __future__ import annotations

import random
import socket

_taken: set[int] = set()
RANGE_LOW, RANGE_HIGH = 20000, 59000


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free(port: int) -> bool:
    return (port not in _taken and _bindable(port, socket.SOCK_STREAM)
            and _bindable(port, socket.SOCK_DGRAM))


def free_port() -> int:
    """One port free for both TCP and UDP."""
    return free_range(1)


def free_range(size: int) -> int:
    """The first of ``size`` consecutive free ports (TCP and UDP)."""
    rng = random.Random()
    for _ in range(500):
        first = rng.randrange(RANGE_LOW, RANGE_HIGH - size) & ~1
        if all(_free(p) for p in range(first, first + size)):
            _taken.update(range(first, first + size))
            return first
    raise RuntimeError(f"no {size} consecutive free ports on 127.0.0.1")
