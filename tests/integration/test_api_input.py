"""Bad input gets a 4xx JSON error naming the field; nothing produces a 500."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from dialer.core.errors import IllegalTransition
from tests.fake_port import (
    ALICE_TOKEN,
    SUPERVISOR_TOKEN,
    FakeControl,
    api_client,
    bearer,
)

SUP = bearer(SUPERVISOR_TOKEN)
ATTEMPT = "7d3f0a52-4c1e-4b8e-9a55-2f1c3b7e9d10"


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def client(control: FakeControl) -> AsyncIterator[TestClient]:
    async with api_client(control) as c:
        yield c


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return (await resp.json())["error"]  # type: ignore[no-any-return]


async def patch_pacing(client: TestClient, data: str, campaign: str = "sales") -> Any:
    return await client.patch(f"/api/campaigns/{campaign}/pacing", data=data,
                              headers={**SUP, "Content-Type": "application/json"})


async def test_malformed_json_is_400_naming_the_body(client: TestClient) -> None:
    error = await error_of(await patch_pacing(client, '{"abandon_target": 0.02'), 400)
    assert error["field"] == "body"
    assert "not valid JSON" in error["message"]


@pytest.mark.parametrize("data", ["[1, 2]", '"text"', "42", "null"])
async def test_json_that_is_not_an_object_is_400(client: TestClient, data: str) -> None:
    error = await error_of(await patch_pacing(client, data), 400)
    assert "must be a JSON object" in error["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"abandon_target": "0.02"}, "abandon_target"),
    ({"abandon_target": True}, "abandon_target"),
    ({"connect_deadline_s": [2]}, "connect_deadline_s"),
    ({"mode": 3}, "mode"),
    ({"mode": "turbo"}, "mode"),
    ({"ring_timeout_s": -5}, "ring_timeout_s"),
    ({"max_dial_level": 1e9}, "max_dial_level"),
    ({"abandon_target": 0.02, "speed": 11}, "speed"),
    ({}, "body"),
])
async def test_wrong_type_or_range_is_400_naming_the_field(
        client: TestClient, control: FakeControl, body: dict[str, Any], field: str) -> None:
    error = await error_of(await patch_pacing(client, json.dumps(body)), 400)
    assert error["field"] == field
    assert control.campaigns["sales"].pacing.abandon_target == 0.03


async def test_nan_is_not_a_number(client: TestClient) -> None:
    error = await error_of(await patch_pacing(client, '{"abandon_target": NaN}'), 400)
    assert error["field"] == "body"


@pytest.mark.parametrize(("campaign", "body", "field"), [
    ("sales", {"abandon_target": 0.031}, "abandon_target"),
    ("sales", {"connect_deadline_s": 2.5}, "connect_deadline_s"),
    ("sales", {"ring_timeout_s": 10}, "ring_timeout_s"),
    ("renewals", {"abandon_target": 0.06}, "abandon_target"),
    ("sales", {"mode": "power"}, "power_ratio"),
])
async def test_setting_beyond_the_legal_bound_is_422_naming_the_field(
        client: TestClient, control: FakeControl, campaign: str, body: dict[str, Any],
        field: str) -> None:
    before = control.campaigns[campaign].pacing
    error = await error_of(await patch_pacing(client, json.dumps(body), campaign), 422)
    assert error["field"] == field
    assert error["message"].startswith(field)
    assert control.campaigns[campaign].pacing == before


async def test_legal_pacing_change_applies_live(client: TestClient, control: FakeControl) -> None:
    resp = await patch_pacing(client, json.dumps({"abandon_target": 0.025, "mode": "power",
                                                  "power_ratio": 2.0}))
    assert resp.status == 200
    assert (await resp.json())["pacing"]["abandon_target"] == 0.025
    assert control.campaigns["sales"].pacing.mode == "power"
    renewals = await patch_pacing(client, json.dumps({"abandon_target": 0.05}), "renewals")
    assert renewals.status == 200


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/campaigns/winter/start", None, "campaign"),
    ("GET", "/api/campaigns/winter/pacing", None, "campaign"),
    ("PATCH", "/api/campaigns/winter/pacing", {"abandon_target": 0.01}, "campaign"),
    ("POST", "/api/agents/zoe/ready", None, "agent"),
    ("GET", f"/api/attempts/{ATTEMPT}", None, "attempt"),
    ("POST", "/api/optouts", {"phone": "+12025550143", "campaign": "winter"}, "campaign"),
])
async def test_unknown_campaign_agent_or_attempt_is_404_naming_it(
        client: TestClient, method: str, path: str, body: Any, field: str) -> None:
    error = await error_of(await client.request(method, path, json=body, headers=SUP), 404)
    assert error["field"] == field
    assert error["message"].startswith(f"unknown {field} ")


@pytest.mark.parametrize(("method", "path", "field"), [
    ("GET", "/api/attempts/not-a-uuid", "attempt_id"),
    ("POST", "/api/campaigns/bad%20name/start", "campaign"),
    ("POST", "/api/campaigns/sales/launch", "action"),
])
async def test_malformed_path_values_are_named(
        client: TestClient, method: str, path: str, field: str) -> None:
    resp = await client.request(method, path, headers=SUP)
    assert resp.status in (400, 404)
    assert (await error_of(resp, resp.status))["field"] == field


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/agents/alice/login", {}, "endpoint"),
    ("/api/agents/alice/login", {"endpoint": "alice's phone"}, "endpoint"),
    ("/api/agents/alice/login", {"endpoint": "PJSIP/alice", "campaign": "no such!"}, "campaign"),
    ("/api/agents/alice/pause", {"reason": 5}, "reason"),
    ("/api/agents/alice/pause", {"reason": "x" * 81}, "reason"),
    ("/api/agents/alice/ready", {"now": True}, "now"),
    ("/api/agents/alice/disposition", {"attempt_id": "42", "code": "sale"}, "attempt_id"),
    ("/api/agents/alice/disposition", {"attempt_id": ATTEMPT}, "code"),
    ("/api/agents/alice/disposition",
     {"attempt_id": ATTEMPT, "code": "callback", "callback_at": "2026-12-01T10:00"},
     "callback_at"),
    ("/api/agents/alice/disposition",
     {"attempt_id": ATTEMPT, "code": "callback", "callback_at": "tomorrow"}, "callback_at"),
    ("/api/optouts", {"phone": "12"}, "phone"),
    ("/api/optouts", {"phone": 12025550143}, "phone"),
    ("/api/optouts", {}, "phone"),
])
async def test_agent_and_optout_bodies_name_the_wrong_field(
        client: TestClient, path: str, body: dict[str, Any], field: str) -> None:
    resp = await client.post(path, json=body, headers=bearer(ALICE_TOKEN))
    assert (await error_of(resp, 400))["field"] == field


async def test_impossible_agent_move_is_409(client: TestClient) -> None:
    resp = await client.post("/api/agents/alice/ready", headers=bearer(ALICE_TOKEN))
    error = await error_of(resp, 409)
    assert "logged_out" in error["message"]


async def test_unknown_route_and_wrong_method_are_json(client: TestClient) -> None:
    await error_of(await client.get("/api/nothing-here", headers=SUP), 404)
    resp = await client.delete("/api/campaigns", headers=SUP)
    await error_of(resp, 405)
    assert "GET" in resp.headers["Allow"]


async def test_oversized_body_is_413_json(client: TestClient) -> None:
    data = json.dumps({"notes": "x" * 100_000})
    resp = await client.post("/api/agents/alice/pause", data=data, headers=bearer(ALICE_TOKEN))
    await error_of(resp, 413)


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "float", "str", "bool", "null", "huge"] + (["list", "dict"] if depth < 2
                                                              else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        return {rng.choice(FIELDS): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {"int": lambda: rng.randint(-10**6, 10**6), "float": lambda: rng.uniform(-5, 5),
            "str": lambda: rng.choice(["", " ", "sales", "PJSIP/x", "+1202555", "\u00e9\x00"]),
            "bool": lambda: rng.random() < 0.5, "null": lambda: None,
            "huge": lambda: 10**400}[kind]()


FIELDS = ["mode", "abandon_target", "connect_deadline_s", "ring_timeout_s", "max_dial_level",
          "power_ratio", "endpoint", "campaign", "reason", "attempt_id", "code", "notes",
          "callback_at", "phone", "x"]
TARGETS = [("PATCH", "/api/campaigns/sales/pacing"), ("POST", "/api/agents/alice/login"),
           ("POST", "/api/agents/alice/pause"), ("POST", "/api/agents/alice/disposition"),
           ("POST", "/api/optouts"), ("POST", "/api/campaigns/sales/start")]


async def test_random_bodies_never_produce_a_server_error(client: TestClient) -> None:
    rng = random.Random(20261128)
    for _ in range(300):
        method, path = rng.choice(TARGETS)
        body = random_json(rng) if rng.random() < 0.3 else {
            rng.choice(FIELDS): random_json(rng, 1) for _ in range(rng.randint(1, 4))}
        data = json.dumps(body) if rng.random() < 0.9 else json.dumps(body)[:-1]
        resp = await client.request(method, path, data=data, headers=SUP)
        assert resp.status < 500, (method, path, data, await resp.text())
        if resp.status >= 400:
            assert (await resp.json())["error"]["message"]


async def test_an_illegal_state_machine_step_is_409_naming_state_and_event(
        client: TestClient, control: FakeControl, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(agent: str) -> None:
        raise IllegalTransition("agent", "talking", "Ready")

    monkeypatch.setattr(control, "agent_ready", refuse)
    resp = await client.post("/api/agents/alice/ready", headers=bearer(ALICE_TOKEN))
    error = await error_of(resp, 409)
    assert "'talking'" in error["message"] and "'Ready'" in error["message"]


async def test_an_engine_failure_is_a_json_500_that_leaks_nothing(
        client: TestClient, control: FakeControl, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken() -> None:
        raise RuntimeError("lost postgresql://dialer:s3cret-pw@db/dialer")

    monkeypatch.setattr(control, "list_campaigns", broken)
    resp = await client.get("/api/campaigns", headers=SUP)
    error = await error_of(resp, 500)
    assert error["code"] == "internal"
    assert "s3cret-pw" not in await resp.text() and "postgresql" not in error["message"]
