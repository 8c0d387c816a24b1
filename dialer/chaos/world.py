"""The chaos world: real processes on loopback, owned by the runner.

One embedded PostgreSQL, two simulated Asterisks (`dialer sim`, each keeping its own
record in a file), engine ``a`` on the first and, now and then, engine ``b`` on the
second, both running the same campaign. Engines are `dialer run` processes started
through :mod:`dialer.chaos.engine_main`, which sets the compliance clock to the demo's
hour so the test numbers are callable whatever the time of day.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from dialer.store import embedded

SIM_SECRET = "dialer-secret"
# Below the kernel's ephemeral range: no outgoing connection ever takes one of these, so a
# port stays the world's while its process restarts.
STABLE_PORTS = (20000, 32000)
CAMPAIGN = "chaos"
READY_TIMEOUT = 30.0


_PORTS = random.SystemRandom()
_GIVEN: set[int] = set()


def stable_port() -> int:
    """A free port on 127.0.0.1 outside the ephemeral range, never handed out twice."""
    for _ in range(200):
        port = _PORTS.randrange(*STABLE_PORTS)
        if port in _GIVEN:
            continue
        _GIVEN.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {STABLE_PORTS}")


@dataclass
class Sim:
    name: str
    ami: int
    ari: int
    agi: int
    record: Path
    log: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ari}"


@dataclass
class Engine:
    name: str
    sim: Sim
    http: int
    config: Path
    log: Path
    agents: list[str]
    proc: asyncio.subprocess.Process | None = None
    up_since: float | None = None          # wall time it was ready to dial
    served: list[tuple[float, float]] = field(default_factory=list)  # ready intervals


@dataclass
class World:
    root: Path
    seed: int
    speed: float = 10.0
    agents: int = 8
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    pg: embedded.EmbeddedPostgres | None = None
    dsn: str = ""
    sims: dict[str, Sim] = field(default_factory=dict)
    engines: dict[str, Engine] = field(default_factory=dict)
    http: aiohttp.ClientSession | None = None
    outages: int = 0  # Postgres outages so far

    # ---------------------------------------------------------------- setup

    def build(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name in ("1", "2"):
            self.sims[name] = Sim(name, stable_port(), stable_port(), stable_port(),
                                  self.root / f"sim{name}.jsonl", self.root / f"sim{name}.log")
        for name, sim, prefix in (("a", "1", "agent"), ("b", "2", "agentb")):
            engine = Engine(name, self.sims[sim], stable_port(), self.root / f"engine-{name}.yaml",
                            self.root / f"engine-{name}.log",
                            [f"{prefix}{i}" for i in range(1, self.agents + 1)])
            self.engines[name] = engine
            engine.config.write_text(yaml.safe_dump(self.config_of(engine)))

    def config_of(self, e: Engine) -> dict[str, Any]:
        digest = hashlib.sha256(self.token.encode()).hexdigest()
        return {
            "database": {"url": self.dsn, "pool_size": 5},
            "ami": {"port": e.sim.ami, "secret": SIM_SECRET, "ping_interval": "1s",
                    "ping_timeout": "1s", "reconnect_max": "1s"},
            "ari": {"url": e.sim.url, "password": SIM_SECRET, "heartbeat": "2s"},
            "agi": {"port": e.sim.agi},
            "http": {"port": e.http},
            "logging": {"format": "json", "level": "info"},
            "compliance": {"staleness": "10s"},
            "api": {"tokens": [{"role": "supervisor", "sha256": digest}]},
            "engine": {"engine_id": f"chaos-{e.name}", "campaigns": [CAMPAIGN],
                       "drain_timeout": "3s", "wrapup_max": "1s",
                       "heartbeat_interval": "0.5s", "heartbeat_timeout": "3s",
                       "reconcile_interval": "2s", "phone_grace": "1s",
                       "orphan_grace": "5s", "hopper_size": 50},
        }

    async def start(self) -> None:
        self.pg = await asyncio.to_thread(embedded.start, "dialer-chaos-pg-")
        self.dsn = self.pg.dsn()
        self.build()
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        for sim in self.sims.values():
            await self.start_sim(sim)

    async def close(self) -> None:
        for engine in self.engines.values():
            await self.kill(engine.proc)
        for sim in self.sims.values():
            await self.kill(sim.proc)
        if self.http is not None:
            await self.http.close()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.resume()
            await asyncio.to_thread(self.pg.stop)

    # ---------------------------------------------------------------- processes

    async def _spawn(self, log: Path, *args: str) -> asyncio.subprocess.Process:
        out = log.open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                *args, stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        finally:
            out.close()

    @staticmethod
    async def kill(proc: asyncio.subprocess.Process | None,
                   sig: int = signal.SIGKILL) -> int | None:
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        return await proc.wait()

    async def start_sim(self, sim: Sim) -> None:
        seed = str(self.seed * 10 + int(sim.name))
        sim.proc = await self._spawn(
            sim.log, sys.executable, "-m", "dialer", "sim", "--ami", f"127.0.0.1:{sim.ami}",
            "--ari", f"127.0.0.1:{sim.ari}", "--agi", f"127.0.0.1:{sim.agi}",
            "--speed", str(self.speed), "--seed", seed, "--record", str(sim.record))
        await self._until(lambda: self.sim_state(sim), f"sim {sim.name} listening")

    async def start_engine(self, e: Engine) -> asyncio.subprocess.Process:
        """Start ``e`` and wait until it is ready (or has exited: refused)."""
        e.proc = await self._spawn(e.log, sys.executable, "-m", "dialer.chaos.engine_main",
                                   "run", "-c", str(e.config))
        proc = e.proc

        async def ready() -> bool:
            if proc.returncode is not None:
                return True
            return await self._get_ok(f"http://127.0.0.1:{e.http}/readyz")
        await self._until(ready, f"engine {e.name} ready", READY_TIMEOUT)
        if proc.returncode is None:
            e.up_since = time.time()
        return proc

    async def start_or_explain(self, e: Engine) -> None:
        """Start ``e``; if it exits instead, raise with the end of its log."""
        proc = await self.start_engine(e)
        if proc.returncode is not None:
            raise RuntimeError(f"engine {e.name} did not start (exit {proc.returncode}): "
                               f"{why_exited(e.log)} (log: {e.log})")

    def engine_down(self, e: Engine, at: float) -> None:
        if e.up_since is not None:
            e.served.append((e.up_since, at))
            e.up_since = None

    # ---------------------------------------------------------------- HTTP

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _get_ok(self, url: str) -> bool:
        assert self.http is not None
        try:
            async with self.http.get(url, headers=self._auth()) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def api(self, e: Engine, method: str, path: str, body: Any = None) -> Any:
        assert self.http is not None
        url = f"http://127.0.0.1:{e.http}{path}"
        async with self.http.request(method, url, json=body, headers=self._auth()) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def sim_call(self, sim: Sim, method: str, path: str) -> Any:
        assert self.http is not None
        url = f"{sim.url}/_sim/{path}"
        params = {"api_key": f"dialer:{SIM_SECRET}"}
        async with self.http.request(method, url, params=params) as resp:
            return await resp.json(content_type=None)

    async def sim_state(self, sim: Sim) -> dict[str, Any] | None:
        try:
            return await self.sim_call(sim, "GET", "state")  # type: ignore[no-any-return]
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def log_in(self, e: Engine) -> None:
        """Log in the engine's agents who are not (a restart may have kept them)."""
        states = await self.agent_states(e)
        for agent in e.agents:
            if states.get(agent, {}).get("state", "logged_out") == "logged_out":
                await self.api(e, "POST", f"/api/agents/{agent}/login",
                               {"endpoint": f"PJSIP/{agent}", "campaign": CAMPAIGN})

    async def agent_states(self, e: Engine) -> dict[str, dict[str, Any]]:
        data = await self.api(e, "GET", "/api/agents")
        return {a["name"]: a for a in data["agents"]}

    # ---------------------------------------------------------------- waiting

    @staticmethod
    async def _until(check: Any, what: str, timeout: float = 15.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if loop.time() > deadline:
                raise TimeoutError(f"{what}: not within {timeout:g} s")
            await asyncio.sleep(0.1)


def why_exited(log: Path, lines: int = 3) -> str:
    """The last error lines of an engine's log (what `dialer run` said before exiting)."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [ln for ln in text if '"level": "info"' not in ln and '"level": "debug"' not in ln
              and ln.strip()]
    return " | ".join(ln.strip()[:300] for ln in errors[-lines:]) or "(nothing logged)"
