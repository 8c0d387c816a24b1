"""The faults: each one breaks something for real, then lets the world heal the way an
operator's supervisor would (a killed process is started again) and waits until it has.

A fault is *survived* when the world is whole again in time. Agents are checked after
every Asterisk fault: each agent who was working before must be back to work within
``AGENTS_BACK`` seconds of Asterisk being back, with nobody logging in by hand.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import yaml

from dialer.chaos.world import Engine, World, stable_port

AGENTS_BACK = 10.0
WORKING = frozenset({"ready", "reserved", "talking", "wrap_up"})


@dataclass
class Outcome:
    kind: str
    at: float
    detail: str = ""
    survived: bool = True
    violations: list[str] = field(default_factory=list)


Fault = Callable[[World, random.Random, Outcome], Awaitable[None]]


async def _restart_engine(w: World, e: Engine, rng: random.Random, relogin: bool) -> None:
    await asyncio.sleep(rng.uniform(0.2, 2.0))
    await w.start_or_explain(e)
    if relogin:
        await w.log_in(e)


async def kill_engine(w: World, rng: random.Random, out: Outcome) -> None:
    """kill -9 of engine a mid-campaign; started again a moment later."""
    e = w.engines["a"]
    await w.kill(e.proc)
    w.engine_down(e, time.time())
    await _restart_engine(w, e, rng, relogin=False)


async def stop_engine(w: World, rng: random.Random, out: Outcome) -> None:
    """SIGTERM of engine a (a deploy): it must exit 0 leaving nothing behind."""
    e = w.engines["a"]
    code = await w.kill(e.proc, signal.SIGTERM)
    w.engine_down(e, time.time())
    if code != 0:
        out.violations.append(f"inv4: engine a exited {code} on SIGTERM (see {e.log})")
    state = await w.sim_state(e.sim)
    if state and (state["channels"] or state["bridges"]):
        out.violations.append(f"inv4: after engine a stopped, sim {e.sim.name} still has "
                              f"{len(state['channels'])} channels and "
                              f"{len(state['bridges'])} bridges: {_ids(state)}")
    await _restart_engine(w, e, rng, relogin=True)


async def kill_asterisk(w: World, rng: random.Random, out: Outcome) -> None:
    """kill -9 of the simulated Asterisk of engine a; started again (empty)."""
    e = w.engines["a"]
    before = await _working(w, e)
    assert e.sim.proc is not None
    await w.kill(e.sim.proc)
    await asyncio.sleep(rng.uniform(0.2, 2.0))
    await w.start_sim(e.sim)
    await _agents_back(w, e, before, out)


def _sim_fault(path: str, doc: str) -> Fault:
    """A fault the simulator's control API injects in engine a's Asterisk."""
    async def fault(w: World, rng: random.Random, out: Outcome) -> None:
        e = w.engines["a"]
        before = await _working(w, e)
        await w.sim_call(e.sim, "POST", path)
        await _agents_back(w, e, before, out)
    fault.__doc__ = doc
    return fault


restart_asterisk = _sim_fault("faults/restart", "An Asterisk restart without the process "
                              "dying: every channel is lost.")
drop_ami = _sim_fault("faults/drop-ami", "Every AMI connection cut.")
drop_ari = _sim_fault("faults/drop-ari", "Every ARI WebSocket cut.")


async def stop_postgres(w: World, rng: random.Random, out: Outcome) -> None:
    """Postgres stopped for a few seconds, and every fifth time for 30 to 60 s, then
    started again."""
    assert w.pg is not None
    w.outages += 1
    seconds = rng.uniform(30.0, 60.0) if w.outages % 5 == 0 else rng.uniform(0.5, 6.0)
    out.detail = f"{seconds:.1f} s"
    await asyncio.to_thread(w.pg.pause)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(w.pg.resume)
    await w._until(lambda: w._get_ok(f"http://127.0.0.1:{w.engines['a'].http}/readyz"),
                   "engine a ready after the outage", 30.0)


async def twin_engine(w: World, rng: random.Random, out: Outcome) -> None:
    """A second engine pointed at engine a's Asterisk must be refused with a message."""
    a = w.engines["a"]
    twin = Engine("twin", a.sim, stable_port(), w.root / "engine-twin.yaml",
                  w.root / "engine-twin.log", [])
    config = w.config_of(twin)
    config["agi"]["port"] = stable_port()
    twin.config.write_text(yaml.safe_dump(config))
    proc = await w.start_engine(twin)
    if proc.returncode is None:
        await w.kill(proc, signal.SIGTERM)
        out.violations.append("inv4: a second engine on the same Asterisk was not refused")
    elif "already driven by engine" not in twin.log.read_text():
        out.violations.append(f"inv4: the second engine was refused without saying why "
                              f"(see {twin.log})")


async def second_engine(w: World, rng: random.Random, out: Outcome) -> None:
    """Engine b shares the campaign from its own Asterisk for a while, then is stopped
    (or killed: its next start cleans up)."""
    b = w.engines["b"]
    await w.start_or_explain(b)
    proc = b.proc
    assert proc is not None
    if not await _has_sessions(w, b):
        await w.log_in(b)
    await asyncio.sleep(rng.uniform(3.0, 10.0))
    if rng.random() < 0.5:
        out.detail = "killed"
        await w.kill(proc)
    else:
        out.detail = "stopped"
        code = await w.kill(proc, signal.SIGTERM)
        if code != 0:
            out.violations.append(f"inv4: engine b exited {code} on SIGTERM (see {b.log})")
    w.engine_down(b, time.time())


FAULTS: dict[str, Fault] = {
    "kill_engine": kill_engine, "stop_engine": stop_engine, "kill_asterisk": kill_asterisk,
    "restart_asterisk": restart_asterisk, "drop_ami": drop_ami, "drop_ari": drop_ari,
    "stop_postgres": stop_postgres, "twin_engine": twin_engine, "second_engine": second_engine,
}


# ---------------------------------------------------------------- agents


async def _working(w: World, e: Engine) -> set[str]:
    """Agents the engine has at work whose phone Asterisk really holds in a bridge."""
    states = await w.agent_states(e)
    state = await w.sim_state(e.sim)
    phones = {c["number"] for c in (state or {}).get("channels", ())
              if c["role"] == "agent" and c["bridge"]}
    return {name for name, a in states.items() if a["state"] in WORKING and name in phones}


async def _has_sessions(w: World, e: Engine) -> bool:
    states = await w.agent_states(e)
    return any(a["state"] != "logged_out" for a in states.values())


async def _agents_back(w: World, e: Engine, before: set[str], out: Outcome) -> None:
    """Invariant 5: the agents who were working are working again within AGENTS_BACK."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AGENTS_BACK
    missing = before
    while loop.time() < deadline:
        await asyncio.sleep(0.2)
        try:
            missing = before - await _working(w, e)
        except (RuntimeError, OSError, TimeoutError):
            continue
        if not missing:
            out.detail = f"agents back in {AGENTS_BACK - (deadline - loop.time()):.1f} s"
            return
    out.violations.append(f"inv5: agents not back to work {AGENTS_BACK:g} s after "
                          f"Asterisk returned: {sorted(missing)}")


def _ids(state: dict[str, object]) -> str:
    chans = [c["id"] for c in state["channels"]][:5]  # type: ignore[attr-defined]
    bridges = [b["id"] for b in state["bridges"]][:5]  # type: ignore[attr-defined]
    return f"channels {chans}, bridges {bridges}"
