"""Stopping a helper process (Asterisk, a softphone) started in its own session."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, SIGKILL after ``timeout`` seconds, then SIGKILL to what is left of its
    process group (children it started)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
