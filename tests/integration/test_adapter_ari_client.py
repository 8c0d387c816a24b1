"""The ARI REST client and event stream over real sockets against a small aiohttp
server that answers like the recorded Asterisk (status codes, bodies, event JSON)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from dialer.adapters.ari import errors
from dialer.adapters.ari import events as ev
from dialer.adapters.ari.client import AriClient, AriConfig, AriOriginate
from dialer.adapters.ari.stream import AriEventStream, StreamItem
from dialer.adapters.backoff import Backoff, Connected, Disconnected

SECRET = "dialer-secret"


def channel_json(cid: str, state: str = "Down") -> dict[str, Any]:
    return {"id": cid, "name": "Local/5550100@carrier-sim-00000011;1", "state": state,
            "protocol_id": "", "caller": {"name": "Dialer", "number": "2125550000"},
            "connected": {"name": "", "number": ""}, "accountcode": "",
            "dialplan": {"context": "carrier-sim", "exten": "5550100", "priority": 1,
                         "app_name": "AppDial2", "app_data": "(Outgoing Line)"},
            "creationtime": "2026-11-28T10:58:53.516+0000", "language": "en"}


def message(status: int, text: str, reason: str | None = None, key: str = "message"
            ) -> web.Response:
    return web.json_response({key: text}, status=status, reason=reason)


class FakeAri:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.ws_autoping = True
        self.ws_connects = 0
        app = web.Application(middlewares=[self._auth])
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        app.router.add_get("/ari/events", self._events)
        self.app = app

    async def __aenter__(self) -> FakeAri:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.runner.cleanup()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        good = base64.b64encode(f"dialer:{SECRET}".encode()).decode()
        if (request.headers.get("Authorization") != f"Basic {good}"
                and request.query.get("api_key") != f"dialer:{SECRET}"):
            return message(401, "Authentication required")
        answer: web.StreamResponse = await handler(request)
        return answer

    async def push(self, event: dict[str, Any]) -> None:
        for ws in self.sockets:
            if not ws.closed:
                await ws.send_str(json.dumps(event, separators=(",", ":")))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not request.query.get("app"):
            return web.Response(status=400, content_type="text/html",
                                text="<html><body><p>HTTP request is missing param: [app]</p>")
        ws = web.WebSocketResponse(autoping=self.ws_autoping)
        await ws.prepare(request)
        self.ws_connects += 1
        self.sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        path = "/" + request.match_info["tail"]
        query = {k: v for k, v in request.query.items() if k != "api_key"}
        self.requests.append((request.method, path, query, body))
        return await self._answer(request.method, path, query)

    async def _answer(self, method: str, path: str, q: dict[str, str]) -> web.StreamResponse:
        if (method, path) == ("POST", "/channels"):
            return await self._originate(q)
        if path in ("/channels/missing", "/channels/missing/play"):
            return message(404, "Channel not found", "Not Found")
        if method == "DELETE" and q.get("reason") == "bogus":
            return message(400, "Invalid reason for hangup reason provided", "Invalid Reason")
        if path == "/bridges/b1/addChannel":
            return message(422, "Channel not in Stasis application")
        found = self._resource(method, path, q)
        if found is not None:
            return web.json_response(found[1], status=found[0])
        if method in ("POST", "DELETE"):
            return web.Response(status=204)
        return message(404, "Resource not found", "Not found")

    def _resource(self, method: str, path: str, q: dict[str, str]) -> tuple[int, Any] | None:
        parts = path.strip("/").split("/")
        if method == "POST" and parts[-1] == "play":
            return 201, {"id": q["playbackId"], "media_uri": q["media"], "state": "queued",
                         "target_uri": f"{parts[0][:-1]}:{parts[1]}", "language": "en"}
        if (method, parts) == ("POST", ["bridges"]):
            return 200, {"id": q["bridgeId"], "technology": "simple_bridge",
                         "bridge_type": q["type"], "name": q.get("name", ""), "channels": []}
        if method == "GET" and parts[0] == "channels":
            if len(parts) == 1:
                return 200, [channel_json("a", "Up"), channel_json("b")]
            return 200, {"value": "Up"} if parts[-1] == "variable" else channel_json(parts[1])
        if (method, parts) == ("POST", ["channels", "create"]):
            return 200, channel_json(q["channelId"])
        if parts[0] == "asterisk" and method == "GET":
            return 200, ({"ping": "pong", "timestamp": "t", "asterisk_id": "x"}
                         if parts[1] == "ping" else
                         {"system": {"version": "22.10.1", "entity_id": "02:fc"}})
        return None

    async def _originate(self, q: dict[str, str]) -> web.StreamResponse:
        if q.get("channelId") == "dup-1":
            return message(409, "Channel with given unique ID already exists")
        if q.get("endpoint", "").startswith("Bogus/"):
            return message(500, "Allocation failed", "Internal Server Error", key="error")
        await self.push({"type": "ChannelVarset", "variable": "SIM_RING", "value": "3",
                         "channel": channel_json(q["channelId"] + "-far", "Ring"),
                         "application": "dialer"})
        return web.json_response(channel_json(q["channelId"]))


def config(url: str, **kw: Any) -> AriConfig:
    base: dict[str, Any] = dict(base_url=url, password=SECRET, heartbeat=5.0,
                                backoff_initial=0.01, backoff_max=0.05)
    base.update(kw)
    return AriConfig(**base)


@contextlib.asynccontextmanager
async def streaming(stream: AriEventStream) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(stream.run())
    try:
        yield task
    finally:
        await stream.close()
        await asyncio.wait_for(task, 5)


async def next_of(items: AsyncIterator[StreamItem], kind: type, timeout: float = 3.0
                  ) -> StreamItem:
    async with asyncio.timeout(timeout):
        async for item in items:
            if isinstance(item, kind):
                return item
    raise AssertionError(f"stream ended before a {kind.__name__}")


ORIGINATE = AriOriginate(endpoint="Local/5550100@carrier-sim", channel_id="att-1",
                         other_channel_id="att-1-far", app="dialer",
                         app_args=("campaign-1", "lead-42"), caller_id="Dialer <2125550000>",
                         timeout_s=30, variables={"DIALER_ATTEMPT": "att-1"})


async def test_originate_sends_the_chosen_ids_args_and_variables() -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        channel = await ari.originate(ORIGINATE)
    assert channel.id == "att-1" and channel.caller.number == "2125550000"
    method, path, query, body = fake.requests[0]
    assert (method, path) == ("POST", "/channels")
    assert query == {"endpoint": "Local/5550100@carrier-sim", "channelId": "att-1",
                     "otherChannelId": "att-1-far", "app": "dialer",
                     "appArgs": "campaign-1,lead-42", "callerId": "Dialer <2125550000>",
                     "timeout": "30", "formats": "slin"}
    assert body == {"variables": {"DIALER_ATTEMPT": "att-1"}}


@pytest.mark.parametrize(("call", "kind", "status", "text"), [
    (lambda a: a.get_channel("missing"), errors.AriNotFound, 404, "Channel not found"),
    (lambda a: a.originate(AriOriginate(endpoint="Local/1@x", channel_id="dup-1", app="d")),
     errors.AriConflict, 409, "already exists"),
    (lambda a: a.originate(AriOriginate(endpoint="Bogus/1", channel_id="b", app="d")),
     errors.AriServerError, 500, "Allocation failed"),
    (lambda a: a.call("DELETE", "/channels/c1", params={"reason": "bogus"}),
     errors.AriBadRequest, 400, "Invalid reason"),
    (lambda a: a.add_channel("b1", "c1"), errors.AriUnprocessable, 422, "not in Stasis"),
])
async def test_error_statuses_map_to_typed_errors_with_asterisks_message(
        call: Any, kind: type[errors.AriHttpError], status: int, text: str) -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        with pytest.raises(kind, match=text) as info:
            await call(ari)
    assert info.value.status == status and text in info.value.message


@pytest.mark.parametrize("auth", ["header", "api_key"])
async def test_both_auth_modes_are_accepted_and_a_wrong_secret_is_401(auth: str) -> None:
    async with FakeAri() as fake:
        async with AriClient(config(fake.url, auth=auth)) as ari:
            assert (await ari.ping()).asterisk_id == "x"
        async with AriClient(config(fake.url, auth=auth, password="wrong")) as ari:
            with pytest.raises(errors.AriAuthError) as info:
                await ari.ping()
    assert info.value.status == 401 and "wrong" not in str(info.value)


async def test_second_dial_for_a_channel_is_refused_without_sending() -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        await ari.dial("c-1")
        with pytest.raises(errors.AriDoubleDial, match="already dialed"):
            await ari.dial("c-1")
    assert [p for _, p, _, _ in fake.requests] == ["/channels/c-1/dial"]


async def test_second_originate_with_the_same_channel_id_is_refused_without_sending(
        ) -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        await ari.originate(ORIGINATE)
        with pytest.raises(errors.AriDoubleDial, match="already originated"):
            await ari.originate(ORIGINATE)
    assert [p for _, p, _, _ in fake.requests] == ["/channels"]


async def test_unreachable_server_raises_connection_error() -> None:
    async with AriClient(config("http://127.0.0.1:9")) as ari:
        with pytest.raises(errors.AriConnectionError, match="GET /asterisk/ping"):
            await ari.ping()


async def test_bad_hangup_reason_is_refused_before_sending() -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        with pytest.raises(errors.AriError, match="unknown reason 'bogus'"):
            await ari.hangup("c1", "bogus")
    assert fake.requests == []


async def test_event_sent_before_the_rest_reply_is_matched_by_chosen_id() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        stream = AriEventStream(config(fake.url), http)
        async with streaming(stream):
            items = stream.events()
            await next_of(items, Connected)
            ari = AriClient(config(fake.url), http)
            channel = await ari.originate(ORIGINATE)
            early = await next_of(items, ev.ChannelVarset)
    assert isinstance(early, ev.ChannelVarset)
    assert ev.channel_ids(early) == (ORIGINATE.other_channel_id,)
    assert channel.id == ORIGINATE.channel_id


async def test_event_stream_reconnects_after_the_server_closes_it() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        stream = AriEventStream(config(fake.url), http)
        async with streaming(stream):
            items = stream.events()
            await next_of(items, Connected)
            await fake.push({"type": "StasisStart", "args": ["HUMAN", "HUMAN-800-800"],
                             "channel": channel_json("att-9", "Up")})
            start = await next_of(items, ev.StasisStart)
            assert isinstance(start, ev.StasisStart) and start.args[0] == "HUMAN"
            await fake.sockets[0].close()
            assert isinstance(await next_of(items, Disconnected), Disconnected)
            again = await next_of(items, Connected)
            assert isinstance(again, Connected) and again.session == 2
    assert fake.ws_connects == 2


async def test_silent_websocket_is_dropped_by_the_heartbeat() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        fake.ws_autoping = False
        stream = AriEventStream(config(fake.url, heartbeat=0.1), http,
                                backoff=Backoff(initial=5.0, maximum=5.0))
        async with streaming(stream):
            items = stream.events()
            await next_of(items, Connected)
            lost = await next_of(items, Disconnected, timeout=2.0)
    assert isinstance(lost, Disconnected)


async def test_refused_websocket_credentials_stop_the_stream() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        stream = AriEventStream(config(fake.url, password="wrong"), http)
        with pytest.raises(errors.AriAuthError, match="401"):
            await asyncio.wait_for(stream.run(), 5)


async def test_unparseable_frame_is_skipped_and_the_stream_goes_on() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        stream = AriEventStream(config(fake.url), http)
        async with streaming(stream):
            items = stream.events()
            await next_of(items, Connected)
            await fake.sockets[0].send_str('{"type": "ChannelDestroyed"}')
            await fake.push({"type": "StasisEnd", "channel": channel_json("a", "Up")})
            end = await next_of(items, ev.StasisEnd)
    assert isinstance(end, ev.StasisEnd) and end.channel.id == "a"


async def test_close_stops_a_connected_stream_and_ends_its_events() -> None:
    async with FakeAri() as fake, aiohttp.ClientSession() as http:
        stream = AriEventStream(config(fake.url), http)
        task = asyncio.create_task(stream.run())
        items = stream.events()
        await next_of(items, Connected)
        await stream.close()
        await asyncio.wait_for(task, 2)
        rest = [item async for item in items]
    assert [type(i) for i in rest] == [Disconnected] and not stream.connected


async def exercise(ari: AriClient) -> None:
    """Every call the engine uses, once."""
    await ari.originate(ORIGINATE)
    await ari.originate(AriOriginate(endpoint="Local/5550100@carrier-sim", channel_id="c2",
                                     context="dialer-amd", extension="amd-stasis", priority=1,
                                     formats="ulaw"))
    await ari.create_channel("Local/agent1@agents", "c3", "dialer", ("agent",), "c3-far")
    await ari.dial("c3", caller="c1", timeout_s=20)
    await ari.answer("c1")
    await ari.send_dtmf("c1", "1#")
    await ari.set_variable("c1", "TALK_DETECT(set)", "")
    await ari.stop_playback("pb-1")
    await ari.destroy_bridge("b2")
    await ari.remove_channel("b2", "c1")
    await ari.add_channel("b2", "c1", "c3")
    await ari.hangup("c1", "busy")


async def test_every_call_sends_the_expected_method_path_and_parameters() -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        await exercise(ari)
        assert [c.id for c in await ari.list_channels()] == ["a", "b"]
        assert (await ari.get_channel("c1")).id == "c1"
        assert await ari.get_variable("c1", "CHANNEL(state)") == "Up"
        playback = await ari.play("c1", ["sound:hello", "sound:beep"], "pb-1", lang="en")
        assert (playback.id, playback.state) == ("pb-1", "queued")
        assert (await ari.play_on_bridge("b2", "sound:beep", "pb-2")).target_uri == "bridge:b2"
        bridge = await ari.create_bridge("b2", name="call-1")
        assert (bridge.id, bridge.bridge_type) == ("b2", "mixing")
        assert (await ari.asterisk_info()).version == "22.10.1"
    sent = {(m, p): q for m, p, q, _ in fake.requests}
    assert sent[("POST", "/channels/c3/dial")] == {"caller": "c1", "timeout": "20"}
    assert sent[("POST", "/bridges/b2/addChannel")] == {"channel": "c1,c3"}
    assert sent[("DELETE", "/channels/c1")] == {"reason": "busy"}
    assert sent[("POST", "/channels/c1/play")] == {"media": "sound:hello,sound:beep",
                                                   "playbackId": "pb-1", "lang": "en"}


def _operations(ari_docs: Path) -> list[tuple[re.Pattern[str], str, set[str], set[str]]]:
    ops = []
    for doc in ari_docs.glob("*.json"):
        for api in json.loads(doc.read_text()).get("apis", []):
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", api["path"]) + "$")
            for op in api.get("operations", []):
                params = op.get("parameters", [])
                query = {p["name"] for p in params if p["paramType"] == "query"}
                body = {p["name"] for p in params if p["paramType"] == "body"}
                ops.append((pattern, op["httpMethod"], query, body))
    return ops


async def test_every_request_matches_an_operation_of_asterisks_api_docs(ari_docs: Path) -> None:
    async with FakeAri() as fake, AriClient(config(fake.url)) as ari:
        await exercise(ari)
        await ari.play("c1", "sound:beep", "pb-1")
        await ari.play_on_bridge("b2", "sound:beep", "pb-2")
        await ari.create_bridge("b3")
        await ari.get_variable("c1", "X")
        await ari.asterisk_info()
        await ari.ping()
    ops = _operations(ari_docs)
    for method, path, query, body in fake.requests:
        matches = [(q, b) for pat, m, q, b in ops if m == method and pat.match(path)]
        assert matches, f"{method} {path} is not in the api-docs"
        assert any(set(query) <= q and set(body or {}) <= b for q, b in matches), (
            method, path, query)
