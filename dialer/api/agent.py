"""Agent routes: each agent logs in, gets ready, pauses, logs out and sets dispositions
for itself only. A supervisor token may do any of these for any agent."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from dialer.api.context import acting_on_agent, caller, ok, port
from dialer.api.errors import ApiError
from dialer.api.ports import Disposition, NotFound
from dialer.api.validation import ENDPOINT, NAME, path_name, read_body

REASON = re.compile(r"^[\w .,:/()'-]{1,80}$")
routes = web.RouteTableDef()


@routes.get("/api/me")
async def whoami(request: web.Request) -> web.Response:
    who = caller(request)
    return ok({"role": who.role, "agent": who.agent})


@routes.get("/api/agents/{agent}")
async def show(request: web.Request) -> web.Response:
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    found = [a for a in await port(request).agents() if a.name == agent]
    if not found:
        raise NotFound("agent", agent)
    return ok({"agent": found[0]})


@routes.post("/api/agents/{agent}/login")
async def login(request: web.Request) -> web.Response:
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    body = await read_body(request)
    endpoint = body.string("endpoint", max_len=90, pattern=ENDPOINT,
                           what="a channel endpoint such as PJSIP/agent1")
    campaign = body.string("campaign", required=False, pattern=NAME, what="a campaign name")
    body.done()
    info = await port(request).agent_login(agent, endpoint or "", campaign)
    return ok({"agent": info})


@routes.post("/api/agents/{agent}/ready")
async def ready(request: web.Request) -> web.Response:
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    (await read_body(request)).done()
    return ok({"agent": await port(request).agent_ready(agent)})


@routes.post("/api/agents/{agent}/pause")
async def pause(request: web.Request) -> web.Response:
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    body = await read_body(request)
    reason = body.string("reason", max_len=80, pattern=REASON, what="a short reason")
    body.done()
    return ok({"agent": await port(request).agent_pause(agent, reason or "")})


@routes.post("/api/agents/{agent}/logout")
async def logout(request: web.Request) -> web.Response:
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    (await read_body(request)).done()
    return ok({"agent": await port(request).agent_logout(agent)})


@routes.post("/api/agents/{agent}/disposition")
async def disposition(request: web.Request) -> web.Response:
    """Record the call's outcome; this ends the agent's wrap-up."""
    agent = path_name(request, "agent")
    acting_on_agent(request, agent)
    body = await read_body(request)
    attempt_id = _uuid(body.string("attempt_id", max_len=36) or "")
    code = body.string("code", max_len=40, pattern=NAME, what="a disposition code")
    notes = body.string("notes", required=False, max_len=2000)
    callback_at = body.timestamp("callback_at")
    body.done()
    result = Disposition(attempt_id, code or "", notes, callback_at)
    return ok({"agent": await port(request).agent_disposition(agent, result)})


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, f"attempt_id: {value!r} is not a UUID", "attempt_id") from None
