"""`dialer sim` runs standalone on the ports it is given and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp

from dialer.sim.probe import AmiProbe


async def test_dialer_sim_serves_ami_and_ari_until_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "sim", "--ami", "127.0.0.1:0", "--ari", "127.0.0.1:0",
        "--speed", "20", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    m = re.search(r"AMI 127\.0\.0\.1:(\d+), ARI (http://\S+/ari)", line)
    assert m, line
    probe = await AmiProbe.login("127.0.0.1", int(m.group(1)))
    assert (await probe.action("Ping"))["Ping"] == "Pong"
    await probe.close()
    async with aiohttp.ClientSession() as http, http.get(
            m.group(2) + "/asterisk/ping", params={"api_key": "dialer:dialer-secret"}) as resp:
        assert resp.status == 200
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
