"""Tokens and roles: supervisors act on everything, agents only on themselves, and every
refusal is a 401 or 403 with a JSON error body."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from dialer.api.auth import Principal, TokenAuth
from dialer.config import parse_config
from dialer.core.errors import ConfigError
from tests.fake_port import (
    ALICE_TOKEN,
    BOB_TOKEN,
    SUPERVISOR_TOKEN,
    FakeControl,
    api_client,
    bearer,
)

SUPERVISOR_ONLY = [
    ("GET", "/api/campaigns", None),
    ("POST", "/api/campaigns/sales/start", None),
    ("POST", "/api/campaigns/sales/pause", None),
    ("POST", "/api/campaigns/sales/stop", None),
    ("GET", "/api/campaigns/sales/pacing", None),
    ("PATCH", "/api/campaigns/sales/pacing", {"abandon_target": 0.02}),
    ("GET", "/api/agents", None),
    ("GET", "/api/attempts/7d3f0a52-4c1e-4b8e-9a55-2f1c3b7e9d10", None),
]
AGENT_ROUTES = [
    ("login", {"endpoint": "PJSIP/bob"}),
    ("ready", None),
    ("pause", {"reason": "break"}),
    ("logout", None),
    ("disposition", {"attempt_id": "7d3f0a52-4c1e-4b8e-9a55-2f1c3b7e9d10", "code": "sale"}),
]


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def client(control: FakeControl) -> AsyncIterator[TestClient]:
    async with api_client(control) as c:
        yield c


async def assert_refused(resp: object, status: int) -> dict[str, object]:
    assert resp.status == status, await resp.text()  # type: ignore[attr-defined]
    assert resp.content_type == "application/json"  # type: ignore[attr-defined]
    body = await resp.json()  # type: ignore[attr-defined]
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "path", "body"), SUPERVISOR_ONLY)
async def test_request_without_token_is_refused_with_json_401(
        client: TestClient, method: str, path: str, body: object) -> None:
    resp = await client.request(method, path, json=body)
    error = await assert_refused(resp, 401)
    assert error["field"] == "Authorization"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_wrong_token_and_wrong_scheme_are_refused_with_401(client: TestClient) -> None:
    for headers in (bearer("not-a-token"), {"Authorization": f"Basic {SUPERVISOR_TOKEN}"},
                    {"Authorization": "Bearer "}):
        resp = await client.get("/api/campaigns", headers=headers)
        await assert_refused(resp, 401)


@pytest.mark.parametrize(("method", "path", "body"), SUPERVISOR_ONLY)
async def test_agent_token_cannot_act_on_campaigns_or_read_the_roster(
        client: TestClient, control: FakeControl, method: str, path: str, body: object) -> None:
    resp = await client.request(method, path, json=body, headers=bearer(ALICE_TOKEN))
    error = await assert_refused(resp, 403)
    assert "supervisor" in str(error["message"])
    assert control.campaigns["sales"].state == "paused"


@pytest.mark.parametrize(("action", "body"), AGENT_ROUTES)
async def test_agent_token_cannot_act_on_another_agent(
        client: TestClient, control: FakeControl, action: str, body: object) -> None:
    resp = await client.post(f"/api/agents/bob/{action}", json=body, headers=bearer(ALICE_TOKEN))
    error = await assert_refused(resp, 403)
    assert "'bob'" in str(error["message"])
    assert control.roster["bob"].state == "logged_out"


async def test_agent_logs_in_gets_ready_pauses_and_logs_out_as_itself(
        client: TestClient, control: FakeControl) -> None:
    steps = [("login", {"endpoint": "PJSIP/alice", "campaign": "sales"}, "paused"),
             ("ready", None, "ready"), ("pause", {"reason": "coffee"}, "paused"),
             ("logout", None, "logged_out")]
    for action, body, state in steps:
        resp = await client.post(f"/api/agents/alice/{action}", json=body,
                                 headers=bearer(ALICE_TOKEN))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["agent"]["state"] == state
        assert control.roster["alice"].state == state


async def test_agent_disposition_ends_its_own_wrap_up(
        client: TestClient, control: FakeControl) -> None:
    alice = control.roster["alice"]
    alice.state, alice.attempt_id = "wrap_up", "7d3f0a52-4c1e-4b8e-9a55-2f1c3b7e9d10"
    resp = await client.post("/api/agents/alice/disposition", headers=bearer(ALICE_TOKEN),
                             json={"attempt_id": alice.attempt_id, "code": "sale",
                                   "notes": "two units", "callback_at": None})
    assert resp.status == 200, await resp.text()
    assert alice.state == "ready"
    assert alice.dispositions[0].code == "sale"


async def test_supervisor_may_act_on_any_agent(client: TestClient, control: FakeControl) -> None:
    resp = await client.post("/api/agents/bob/login", json={"endpoint": "PJSIP/bob"},
                             headers=bearer(SUPERVISOR_TOKEN))
    assert resp.status == 200
    assert control.roster["bob"].state == "paused"


async def test_supervisor_starts_pauses_and_stops_a_campaign(
        client: TestClient, control: FakeControl) -> None:
    for action, state in (("start", "active"), ("pause", "paused"), ("stop", "stopped")):
        resp = await client.post(f"/api/campaigns/sales/{action}",
                                 headers=bearer(SUPERVISOR_TOKEN))
        assert resp.status == 200
        assert (await resp.json())["campaign"]["state"] == state
        assert control.campaigns["sales"].state == state


async def test_any_valid_token_reads_status_and_whoami(client: TestClient) -> None:
    for token, role in ((ALICE_TOKEN, "agent"), (BOB_TOKEN, "agent"),
                        (SUPERVISOR_TOKEN, "supervisor")):
        assert (await client.get("/api/status", headers=bearer(token))).status == 200
        me = await (await client.get("/api/me", headers=bearer(token))).json()
        assert me["role"] == role
    await assert_refused(await client.get("/api/status"), 401)


async def test_agent_may_record_an_optout_and_the_source_names_it(
        client: TestClient, control: FakeControl) -> None:
    resp = await client.post("/api/optouts", json={"phone": "+12025550143"},
                             headers=bearer(ALICE_TOKEN))
    assert resp.status == 201
    assert (await resp.json())["optout"] == {"phone": "+12025550143", "list": "internal",
                                             "added": True}
    again = await client.post("/api/optouts", json={"phone": "+12025550143"},
                              headers=bearer(SUPERVISOR_TOKEN))
    assert again.status == 200


async def test_health_and_metrics_need_no_token(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status == 200


async def test_status_socket_without_token_is_refused_before_upgrade(client: TestClient) -> None:
    with pytest.raises(WSServerHandshakeError) as info:
        await client.ws_connect("/api/status/ws")
    assert info.value.status == 401
    with pytest.raises(WSServerHandshakeError) as info:
        await client.ws_connect("/api/status/ws", protocols=("dialer.v1", "bearer.wrong"))
    assert info.value.status == 401


async def test_status_socket_accepts_the_token_as_a_subprotocol(client: TestClient) -> None:
    ws = await client.ws_connect("/api/status/ws",
                                 protocols=("dialer.v1", f"bearer.{ALICE_TOKEN}"))
    assert ws.protocol == "dialer.v1"
    message = await ws.receive_json(timeout=5)
    assert message["type"] == "status"
    await ws.close()


@dataclass
class Spec:
    role: str
    sha256: str | None = None
    env: str | None = None
    agent: str | None = None


def test_token_auth_from_config_keeps_only_digests() -> None:
    digest = hashlib.sha256(b"from-file-token").hexdigest()
    auth = TokenAuth.from_config(
        [Spec("supervisor", sha256=digest), Spec("agent", env="ALICE_TOKEN", agent="alice")],
        {"ALICE_TOKEN": "from-env-token"})
    assert auth.authenticate("from-file-token") == Principal("supervisor")
    assert auth.authenticate("from-env-token") == Principal("agent", "alice")
    assert auth.authenticate("from-env-tokeN") is None
    held = repr(vars(auth)) if hasattr(auth, "__dict__") else repr(auth._grants)
    assert "from-env-token" not in held
    assert "from-file-token" not in held


@pytest.mark.parametrize(("spec", "path"), [
    (Spec("admin", sha256="0" * 64), "api.tokens[0].role"),
    (Spec("agent", sha256="0" * 64), "api.tokens[0].agent"),
    (Spec("supervisor", sha256="abc"), "api.tokens[0].sha256"),
    (Spec("supervisor", env="MISSING_TOKEN"), "api.tokens[0].env"),
    (Spec("supervisor"), "api.tokens[0]"),
])
def test_token_config_errors_name_the_entry(spec: Spec, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        TokenAuth.from_config([spec], {})
    assert info.value.path == path


def test_token_auth_reads_the_engine_config_tokens() -> None:
    digest = hashlib.sha256(b"supervisor-secret").hexdigest()
    cfg = parse_config(f"api:\n  tokens:\n    - {{role: supervisor, sha256: {digest}}}\n"
                       "    - {role: agent, env: AGENT1_TOKEN, agent: agent1}\n", env={})
    auth = TokenAuth.from_config(cfg.api.tokens, {"AGENT1_TOKEN": "agent1-secret"})
    assert auth.authenticate("supervisor-secret") == Principal("supervisor")
    assert auth.authenticate("agent1-secret") == Principal("agent", "agent1")
    assert len(auth) == 2


async def test_supervisor_reads_the_agent_roster(client: TestClient,
                                                 control: FakeControl) -> None:
    control.roster["carol"].state, control.roster["carol"].pause_reason = "paused", "training"
    resp = await client.get("/api/agents", headers=bearer(SUPERVISOR_TOKEN))
    assert resp.status == 200
    agents = {a["name"]: a for a in (await resp.json())["agents"]}
    assert set(agents) == {"alice", "bob", "carol", "dave"}
    assert (agents["carol"]["state"], agents["carol"]["pause_reason"]) == ("paused", "training")
    assert agents["alice"]["state"] == "logged_out"


async def test_an_agent_reads_its_own_state_only(client: TestClient) -> None:
    resp = await client.get("/api/agents/alice", headers=bearer(ALICE_TOKEN))
    assert resp.status == 200
    assert (await resp.json())["agent"]["name"] == "alice"
    await assert_refused(await client.get("/api/agents/bob", headers=bearer(ALICE_TOKEN)), 403)
    missing = await client.get("/api/agents/zoe", headers=bearer(SUPERVISOR_TOKEN))
    assert missing.status == 404
