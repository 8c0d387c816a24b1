"""Live status, the status WebSocket, health and readiness, /metrics and the wallboard files."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dialer.api.app import create_app, serving
from dialer.api.ports import StatusSnapshot, Verdict, VerdictDetail
from dialer.obs import metrics
from dialer.sim.model import DigitModel
from tests.fake_port import (
    ALICE_TOKEN,
    SUPERVISOR_TOKEN,
    FakeControl,
    api_client,
    bearer,
    make_auth,
)


@pytest.fixture
def control() -> FakeControl:
    control = FakeControl()
    control.campaigns["sales"].state = "active"
    return control


@pytest.fixture
async def client(control: FakeControl) -> AsyncIterator[TestClient]:
    async with api_client(control, interval=0.02) as c:
        yield c


async def test_status_lists_campaign_abandonment_against_target(
        client: TestClient, control: FakeControl) -> None:
    control.tick()
    body = await (await client.get("/api/status", headers=bearer(ALICE_TOKEN))).json()
    sales = next(c for c in body["status"]["campaigns"] if c["name"] == "sales")
    window = sales["abandon"][0]
    assert window["window"] == "rolling_30d"
    assert window["target"] == 0.03
    assert window["ratio"] == pytest.approx(window["abandoned"] / window["live_answers"])
    assert body["status"]["calls_in_flight"] == sales["calls_in_flight"]
    assert sum(body["status"]["compliance_blocks"].values()) == 1


async def test_status_socket_pushes_each_change(client: TestClient, control: FakeControl) -> None:
    ws = await client.ws_connect("/api/status/ws",
                                 protocols=("dialer.v1", f"bearer.{SUPERVISOR_TOKEN}"))
    seen: list[int] = []
    for _ in range(4):
        control.tick()
        while True:
            msg = await ws.receive_json(timeout=5)
            total = sum(msg["status"]["outcomes_15m"].values())
            if not seen or total != seen[-1]:
                break
        seen.append(total)
    await ws.close()
    assert seen == sorted(seen) and len(set(seen)) == 4


async def test_hub_polls_the_engine_only_while_someone_listens(
        client: TestClient, control: FakeControl) -> None:
    await asyncio.sleep(0.1)
    assert control.status_calls == 0
    ws = await client.ws_connect("/api/status/ws", headers=bearer(SUPERVISOR_TOKEN))
    await ws.receive_json(timeout=5)
    await ws.close()
    await asyncio.sleep(0.1)
    after_close = control.status_calls
    await asyncio.sleep(0.1)
    assert after_close >= 1
    assert control.status_calls == after_close


async def test_a_failing_snapshot_does_not_stop_the_socket(
        client: TestClient, control: FakeControl, monkeypatch: pytest.MonkeyPatch) -> None:
    real = control.status
    calls = 0

    async def flaky() -> StatusSnapshot:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("engine busy")
        return await real()

    monkeypatch.setattr(control, "status", flaky)
    ws = await client.ws_connect("/api/status/ws", headers=bearer(SUPERVISOR_TOKEN))
    assert (await ws.receive_json(timeout=5))["type"] == "status"
    await ws.close()
    assert calls >= 2


async def test_healthz_is_ok_without_the_engine(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_readyz_needs_db_ami_ari_and_filter(client: TestClient,
                                                   control: FakeControl) -> None:
    assert (await client.get("/readyz")).status == 200
    for part in ("db", "ami", "ari", "filter"):
        control.ready = dataclasses.replace(control.ready, **{part: False},
                                            detail={part: "down for the test"})
        resp = await client.get("/readyz")
        body = await resp.json()
        assert resp.status == 503
        assert body["ready"] is False and body["parts"][part] is False
        assert body["detail"] == {part: "down for the test"}
        control.ready = dataclasses.replace(control.ready, **{part: True}, detail={})


async def test_readyz_detail_never_shows_a_password(client: TestClient,
                                                    control: FakeControl) -> None:
    control.ready = dataclasses.replace(
        control.ready, db=False,
        detail={"db": "cannot connect to postgresql://dialer:hunter2-pw@db:5432/dialer"})
    body = await (await client.get("/readyz")).json()
    assert "hunter2-pw" not in body["detail"]["db"]
    assert body["detail"]["db"].startswith("cannot connect to postgresql://dialer:")


async def test_readyz_is_503_when_the_engine_cannot_answer(
        client: TestClient, control: FakeControl, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken() -> None:
        raise ConnectionError("no engine")

    monkeypatch.setattr(control, "readiness", broken)
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["parts"] == {"db": False, "ami": False, "ari": False,
                                            "filter": False, "in_step": False}


def sample(families: dict[str, object], name: str, **labels: str) -> float:
    for family in families.values():
        for s in family.samples:  # type: ignore[attr-defined]
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def scrape(client: TestClient) -> dict[str, object]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(await resp.text())}


async def test_metrics_after_a_demo_like_run_show_the_expected_counts(
        client: TestClient) -> None:
    """Feed the helpers what a shift over the last-digit carrier produces, then scrape."""
    model, campaign = DigitModel(), "metrics-demo"
    before = await scrape(client)
    expected: dict[str, int] = {}
    for n in range(200):
        outcome = str(model.plan(f"+1202555{n:04d}", 0.0).outcome)
        metrics.record_call(campaign, outcome)
        expected[outcome] = expected.get(outcome, 0) + 1
        if outcome == "human":
            metrics.record_amd("HUMAN")
            metrics.observe_answer_to_bridge(0.4)
    metrics.record_compliance_block("dnc_national")
    metrics.set_agents(campaign, {"talking": 3, "ready": 1})
    metrics.set_connected("ami", True)
    after = await scrape(client)
    assert expected == {"human": 80, "machine": 40, "busy": 20, "no_answer": 20,
                        "congestion": 20, "answer_hangup": 20}
    for outcome, count in expected.items():
        labels = {"campaign": campaign, "outcome": outcome}
        got = sample(after, "dialer_calls_total", **labels)
        assert got - sample(before, "dialer_calls_total", **labels) == count
    bridged = sample(after, "dialer_answer_to_bridge_seconds_count")
    assert bridged - sample(before, "dialer_answer_to_bridge_seconds_count") == 80
    assert sample(after, "dialer_agents", campaign=campaign, state="talking") == 3
    assert sample(after, "dialer_agents", campaign=campaign, state="paused") == 0
    assert sample(after, "dialer_ami_connected") == 1
    metrics.forget_campaign(campaign)


async def test_wallboard_page_and_assets_are_served(client: TestClient) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/wallboard/"
    page = await client.get("/wallboard/")
    html = await page.text()
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("/wallboard/static/wallboard.js", "/wallboard/static/wallboard.css"):
        assert asset in html
        assert (await client.get(asset)).status == 200
    js = await (await client.get("/wallboard/static/wallboard.js")).text()
    assert "/api/status/ws" in js and "innerHTML" not in js


async def test_server_shutdown_closes_status_sockets(control: FakeControl) -> None:
    app = create_app(control, make_auth(), status_interval=0.02)
    async with aiohttp.ClientSession() as session:
        async with serving(app, "127.0.0.1", 0) as port:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/api/status/ws",
                                          headers=bearer(ALICE_TOKEN))
            assert (await ws.receive_json(timeout=5))["type"] == "status"
        while (msg := await ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert msg.data == aiohttp.WSCloseCode.GOING_AWAY


async def test_attempt_lookup_shows_its_compliance_verdict(client: TestClient,
                                                           control: FakeControl) -> None:
    verdict = Verdict(False, ("dnc_national", "outside_calling_hours"), (
        VerdictDetail("dnc_national", "on national list us-dnc, no exemption", "us-dnc"),
        VerdictDetail("outside_calling_hours", "21:14 in America/Chicago")))
    attempt = control.add_attempt("sales", "+13125550100", "blocked", verdict)
    resp = await client.get(f"/api/attempts/{attempt.id}", headers=bearer(SUPERVISOR_TOKEN))
    body = (await resp.json())["attempt"]
    assert (body["id"], body["outcome"], body["phone"]) == (attempt.id, "blocked",
                                                            "+13125550100")
    assert body["verdict"]["allowed"] is False
    assert body["verdict"]["reasons"] == ["dnc_national", "outside_calling_hours"]
    assert body["verdict"]["details"][0] == {"reason": "dnc_national", "ref": "us-dnc",
                                             "message": "on national list us-dnc, no exemption"}
    refused = await client.get(f"/api/attempts/{attempt.id}", headers=bearer(ALICE_TOKEN))
    assert refused.status == 403
