"""Trace replay for ARI: the recorded REST requests are sent to the simulator with one
WebSocket open, as the recorder did; statuses, bodies and events must match the
recording (rules in dialer.sim.conformance). Recordings and sound listings are not
simulated and are skipped on both sides."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dialer.sim.carrier import RECORDED
from dialer.sim.conformance import (
    ARI_UNSIMULATED_PATHS,
    Renumber,
    ari_event_kept,
    diff_streams,
    normalise_ari,
    normalise_json,
)
from dialer.sim.server import SimAsterisk
from tests.conftest import ARI_DOCS
from tests.protocol.test_sim_ari import Models

TRACE_DIR = Path(__file__).resolve().parents[3] / "shared" / "asterisk" / "traces" / "ari"
SCENARIOS = sorted(p.stem for p in TRACE_DIR.glob("ari-[0-9]*.jsonl")
                   if p.stem != "ari-00-api-docs") if TRACE_DIR.is_dir() else []
SPEED = 10.0
STEP_TIMEOUT_S = 2.0
DEBUG = False
TIMED_VARS = frozenset({"AMD_MS", "ANSWEREDTIME", "DIALEDTIME"})
SURELY_BEFORE_S = 0.004
# events no REST request causes at once: when recorded before a request they came first
NOT_CAUSED = frozenset({"StasisStart", "ChannelStateChange", "ChannelTalkingStarted",
                        "ChannelTalkingFinished", "Dial"})
SAME_MS_S = 0.0005
AMBIGUOUS_WAIT_S = 0.15
WS_HEADERS = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
              "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def skipped(row: dict[str, Any]) -> bool:
    return row["kind"] == "rest" and bool(ARI_UNSIMULATED_PATHS.match(row["path"]))


class AriReplayer:
    def __init__(self, sim: SimAsterisk, session: aiohttp.ClientSession) -> None:
        self.sim, self.session = sim, session
        self.events: list[dict[str, Any]] = []
        self.kept = 0
        self.rest: list[tuple[Any, ...]] = []
        self.ids: dict[str, str] = {}

    async def listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            event = json.loads(msg.data)
            self.events.append(event)
            self.kept += ari_event_kept(event)

    async def until(self, want: int, timeout: float = STEP_TIMEOUT_S) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.kept < want and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if self.kept < want and DEBUG:
            print(f"waited in vain for event {want} (have {self.kept})")

    def _map(self, text: str) -> str:
        for recorded, simulated in self.ids.items():
            text = text.replace(recorded, simulated)
        return text

    def _auth(self, row: dict[str, Any]) -> dict[str, str]:
        secret = {"dialer:<correct>": "dialer:dialer-secret", "dialer:wrong": "dialer:wrong"}
        cred = secret.get(row.get("auth", ""))
        if cred is None or "api_key" in (row.get("params") or {}):
            return {}
        return {"Authorization": "Basic " + base64.b64encode(cred.encode()).decode()}

    async def request(self, row: dict[str, Any]) -> None:
        params = {k: self._map(str(v)) for k, v in (row.get("params") or {}).items()}
        url = self.sim.ari_url + self._map(row["path"])
        body = row.get("body")
        async with self.session.request(row["method"], url, params=params,
                                        headers=self._auth(row),
                                        json=body if body is not None else None) as resp:
            text = await resp.text()
            got = json.loads(text) if text and resp.content_type == "application/json" else None
        self._learn(row.get("response"), got)
        self.rest.append((row["method"], row["path"], resp.status, resp.reason,
                          timed_value(row, got)))

    def _learn(self, recorded: Any, got: Any) -> None:
        if isinstance(recorded, dict) and isinstance(got, dict):
            rid, gid = recorded.get("id"), got.get("id")
            if isinstance(rid, str) and isinstance(gid, str) and rid != gid:
                self.ids[rid] = gid
                self.ids[rid + ";2"] = gid + ";2"

    async def handshake(self, row: dict[str, Any]) -> None:
        url = self.sim.ari_url + "/events"
        async with self.session.get(url, params=row.get("params") or {},
                                    headers=WS_HEADERS) as resp:
            ctype = resp.headers.get("Content-Type", "").split(";")[0]
            self.rest.append(("WS", "/events", resp.status, resp.reason, ctype))


def timed_value(row: dict[str, Any], body: Any) -> Any:
    """A channel variable that holds a measured time (AMD_MS) is not compared."""
    name = (row.get("params") or {}).get("variable", "")
    if row["path"].endswith("/variable") and name in TIMED_VARS and isinstance(body, dict):
        return {**body, "value": "<t>"}
    return body


def recorded_rest(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for row in rows:
        if row["kind"] == "rest" and not skipped(row):
            body = row["response"] if row["content_type"] == "application/json" else None
            out.append((row["method"], row["path"], row["status"], row["reason"],
                        timed_value(row, body)))
        elif row["kind"] == "ws-handshake-raw":
            ctype = row["headers"].get("Content-Type", "").split(";")[0]
            out.append(("WS", "/events", row["status"], row["reason"], ctype))
    return out


def normalise_rest(items: list[tuple[Any, ...]], ren: Renumber) -> dict[str, list[object]]:
    return {"rest": [normalise_json(list(item), ren) for item in items]}


def events_before(rows: list[dict[str, Any]], index: int, margin: float) -> int:
    """Kept events recorded more than ``margin`` seconds before row ``index``.

    Asterisk sends a request's events before its reply, so events recorded just before
    a reply may be its own: the replay waits for events clearly earlier than the
    request, and only briefly for those in the few milliseconds before it."""
    limit = rows[index]["t"] - margin if index < len(rows) else float("inf")
    return sum(ari_event_kept(r["event"]) for r in rows[:index]
               if r["kind"] == "ws" and (r["t"] < limit or r["event"]["type"] in NOT_CAUSED))


async def replay(rows: list[dict[str, Any]], sim: SimAsterisk) -> AriReplayer:
    async with aiohttp.ClientSession() as session:
        rep = AriReplayer(sim, session)
        ws = await session.ws_connect(sim.ari_url + "/events",
                                      params={"app": "dialer", "api_key": "dialer:dialer-secret"})
        listener = asyncio.get_running_loop().create_task(rep.listen(ws))
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, row in enumerate(rows):
            if row["kind"] == "rest" and not skipped(row):
                # never earlier than on the recorded clock (scaled like the simulator)
                await asyncio.sleep(max(start + row["t"] / SPEED - loop.time(), 0.0))
                await rep.until(events_before(rows, i, SURELY_BEFORE_S))
                await rep.until(events_before(rows, i, SAME_MS_S), AMBIGUOUS_WAIT_S)
                await rep.request(row)
            elif row["kind"] == "ws-handshake-raw":
                await rep.handshake(row)
        await rep.until(events_before(rows, len(rows), 0.0))
        await asyncio.sleep(0.2)
        await ws.close()
        await listener
    return rep


# ari-40 places seven calls at once; the interleaving of their events in the recording
# comes from Asterisk's threads, so only its REST statuses and bodies are compared.
REST_ONLY = frozenset({"ari-40-errors"})
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_sim_ari_replay_matches_recording(scenario: str, traces: Path) -> None:
    rows = load(traces / "ari" / f"{scenario}.jsonl")
    async with SimAsterisk(seed=3, speed=SPEED, carrier=RECORDED).running() as sim:
        rep = await replay(rows, sim)
        assert sim.errors == []
    if ARI_DOCS.is_dir():  # every event sent also fits Asterisk's own models
        models = Models(ARI_DOCS)
        assert [p for e in rep.events for p in models.check(e["type"], e)] == []
    want_ren, got_ren = Renumber(), Renumber()
    want = normalise_ari((r["event"] for r in rows if r["kind"] == "ws"), want_ren)
    got = normalise_ari(rep.events, got_ren)
    if scenario in REST_ONLY:
        want, got = {}, {}
    want.update(normalise_rest(recorded_rest(rows), want_ren))
    got.update(normalise_rest(rep.rest, got_ren))
    problems = diff_streams(want, got)
    assert not problems, "\n".join(problems[:8])
