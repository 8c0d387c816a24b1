"""Supervisor routes: campaigns, pacing, roster, attempts and opt-outs."""

from __future__ import annotations

from aiohttp import web

from dialer.api.context import caller, ok, port, supervisor
from dialer.api.errors import ApiError
from dialer.api.ports import PACING_MODES, PacingUpdate
from dialer.api.validation import NAME, e164, path_name, path_uuid, read_body

ACTIONS = ("start", "pause", "stop")
routes = web.RouteTableDef()


@routes.get("/api/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    supervisor(request)
    return ok({"campaigns": await port(request).list_campaigns()})


@routes.post("/api/campaigns/{campaign}/{action}")
async def campaign_action(request: web.Request) -> web.Response:
    supervisor(request)
    campaign = path_name(request, "campaign")
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise ApiError(404, f"action: {action!r} is not one of {', '.join(ACTIONS)}", "action")
    (await read_body(request)).done()
    return ok({"campaign": await port(request).campaign_action(campaign, action)})  # type: ignore[arg-type]


@routes.get("/api/campaigns/{campaign}/pacing")
async def get_pacing(request: web.Request) -> web.Response:
    supervisor(request)
    campaign = path_name(request, "campaign")
    return ok({"campaign": campaign, "pacing": await port(request).get_pacing(campaign)})


@routes.patch("/api/campaigns/{campaign}/pacing")
async def set_pacing(request: web.Request) -> web.Response:
    supervisor(request)
    campaign = path_name(request, "campaign")
    update = await _pacing_update(request)
    settings = await port(request).set_pacing(campaign, update)
    return ok({"campaign": campaign, "pacing": settings})


async def _pacing_update(request: web.Request) -> PacingUpdate:
    body = await read_body(request)
    update = PacingUpdate(
        mode=body.choice("mode", PACING_MODES),
        abandon_target=body.number("abandon_target", low=0.0001, high=1.0),
        connect_deadline_s=body.number("connect_deadline_s", low=0.1, high=10.0),
        ring_timeout_s=body.number("ring_timeout_s", low=1.0, high=300.0),
        max_dial_level=body.number("max_dial_level", low=1.0, high=50.0),
        power_ratio=body.number("power_ratio", low=1.0, high=50.0),
    )
    body.done()
    if update == PacingUpdate():
        raise ApiError(400, "give at least one pacing field to change", "body")
    return update


@routes.get("/api/agents")
async def roster(request: web.Request) -> web.Response:
    supervisor(request)
    return ok({"agents": await port(request).agents()})


@routes.get("/api/attempts/{attempt_id}")
async def attempt(request: web.Request) -> web.Response:
    supervisor(request)
    attempt_id = path_uuid(request, "attempt_id")
    return ok({"attempt": await port(request).attempt(attempt_id)})


@routes.post("/api/optouts")
async def add_optout(request: web.Request) -> web.Response:
    """Agents may take an opt-out too: a do-not-call request is honoured at once."""
    who = caller(request)
    body = await read_body(request)
    phone = e164("phone", body.string("phone", max_len=32) or "")
    campaign = body.string("campaign", required=False, pattern=NAME, what="a campaign name")
    body.done()
    source = f"api:agent:{who.agent}" if who.agent else "api:supervisor"
    result = await port(request).add_optout(phone, campaign, source)
    return ok({"optout": result}, status=201 if result.added else 200)
