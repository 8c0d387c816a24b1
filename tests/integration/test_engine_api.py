"""The HTTP API of a running engine: agents drive their own state over HTTP, a
supervisor steers campaigns, attempts are looked up with their verdict, opt-outs take
effect, and /metrics counts what the database recorded."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.integration.engine_stack import AGENT_TOKENS, SUPERVISOR_TOKEN, engine_stack

NUMBERS = [f"2125550{i:03d}" for i in range(100, 140)]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def agent_state(http: aiohttp.ClientSession, url: str, agent: str) -> dict:
    async with http.get(f"{url}/api/agents/{agent}", headers=auth(AGENT_TOKENS[agent])) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["agent"]


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    return 0.0


@pytest.mark.timeout(150)
async def test_agents_supervisors_attempts_optouts_and_metrics_over_http(db_dsn, tmp_path):
    async with engine_stack(db_dsn, tmp_path, NUMBERS, agents=0, auto_wrapup=False) as run, \
            aiohttp.ClientSession() as http:
        url = run.url
        async with http.get(f"{url}/metrics") as r:
            before = await r.text()
        # an agent acts on itself only
        async with http.post(f"{url}/api/agents/agent2/login", json={"endpoint": "PJSIP/agent2"},
                             headers=auth(AGENT_TOKENS["agent1"])) as r:
            assert r.status == 403 and "error" in await r.json()
        for agent in ("agent1", "agent2"):
            async with http.post(f"{url}/api/agents/{agent}/login",
                                 json={"endpoint": f"PJSIP/{agent}"},
                                 headers=auth(AGENT_TOKENS[agent])) as r:
                assert r.status == 200, await r.text()
        async with asyncio.timeout(20):  # the engine called the softphone; it answered
            while (await agent_state(http, url, "agent1"))["state"] != "ready":
                await asyncio.sleep(0.1)
        # a call reaches agent1 or agent2; the agent in wrap-up sets a disposition
        async with asyncio.timeout(40):
            while True:
                states = {a: await agent_state(http, url, a) for a in ("agent1", "agent2")}
                wrapping = [s for s in states.values() if s["state"] == "wrap_up"]
                if wrapping:
                    break
                await asyncio.sleep(0.1)
        agent = wrapping[0]
        callback_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        async with http.post(f"{url}/api/agents/{agent['name']}/disposition",
                             json={"attempt_id": agent["attempt_id"], "code": "sale",
                                   "callback_at": callback_at},
                             headers=auth(AGENT_TOKENS[agent["name"]])) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["agent"]["state"] == "ready"
        # the attempt, with its compliance verdict
        async with http.get(f"{url}/api/attempts/{agent['attempt_id']}",
                            headers=auth(SUPERVISOR_TOKEN)) as r:
            body = (await r.json())["attempt"]
            assert r.status == 200 and body["outcome"] == "human"
            assert body["verdict"]["allowed"] is True
        # agents may not steer campaigns; supervisors may
        async with http.post(f"{url}/api/campaigns/test/pause",
                             headers=auth(AGENT_TOKENS["agent1"])) as r:
            assert r.status == 403
        async with http.post(f"{url}/api/optouts", json={"phone": "+1 212 555 0139"},
                             headers=auth(SUPERVISOR_TOKEN)) as r:
            assert r.status in (200, 201), await r.text()
        # live pacing changes, within the legal bounds
        pacing = f"{url}/api/campaigns/test/pacing"
        async with http.patch(pacing, json={"abandon_target": 0.05},
                              headers=auth(SUPERVISOR_TOKEN)) as r:
            assert r.status == 422 and "abandon_target" in (await r.json())["error"]["message"]
        async with http.patch(pacing, json={"mode": "power", "power_ratio": 1.5,
                                            "abandon_target": 0.02},
                              headers=auth(SUPERVISOR_TOKEN)) as r:
            assert r.status == 200, await r.text()
        assert run.parts.dialers["test"].pacer.name == "power"
        stored = await run.conn.fetchval("SELECT definition FROM campaigns WHERE name = 'test'")
        assert '"mode": "power"' in stored
        async with http.post(f"{url}/api/campaigns/test/pause",
                             headers=auth(SUPERVISOR_TOKEN)) as r:
            assert r.status == 200 and (await r.json())["campaign"]["state"] == "paused"
        async with asyncio.timeout(40):
            while run.parts.service.engine.calls:
                await asyncio.sleep(0.1)
        placed = sum(d.stats.placed for d in run.parts.dialers.values())
        await asyncio.sleep(1.5)
        assert sum(d.stats.placed for d in run.parts.dialers.values()) == placed
        async with http.get(f"{url}/readyz") as r:
            assert r.status == 200
        await run.parts.writer.flush(timeout=10)
        async with http.get(f"{url}/metrics") as r:
            after = await r.text()
        rows = await run.conn.fetch("SELECT outcome, count(*) AS n FROM call_attempts "
                                    "GROUP BY 1")
        assert await run.conn.fetchval("SELECT count(*) FROM opt_outs WHERE phone = "
                                       "12125550139") == 1
        assert await run.conn.fetchval("SELECT count(*) FROM dispositions WHERE code = 'sale'") == 1
        callback = await run.conn.fetchrow(
            "SELECT b.due_at, l.status, l.next_attempt_at FROM callbacks b "
            "JOIN leads l ON l.id = b.lead_id")
        assert callback is not None, "the agent's callback was not scheduled"
        assert callback["status"] == "callback"
        assert callback["due_at"] == callback["next_attempt_at"]
    for row in rows:
        labels = {"campaign": "test", "outcome": row["outcome"]}
        assert metric(after, "dialer_calls_total", **labels) - \
            metric(before, "dialer_calls_total", **labels) == row["n"]
