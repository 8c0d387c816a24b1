"""What every handler needs: the app's keys, who is calling, and JSON responses."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from dialer.api.auth import Principal, TokenAuth, presented_token
from dialer.api.errors import ApiError
from dialer.api.ports import ControlPort

PORT: web.AppKey[ControlPort] = web.AppKey("dialer_port", ControlPort)
AUTH: web.AppKey[TokenAuth] = web.AppKey("dialer_auth", TokenAuth)


def port(request: web.Request) -> ControlPort:
    return request.app[PORT]


def caller(request: web.Request) -> Principal:
    """The authenticated caller, or 401."""
    token = presented_token(request)
    if token is None:
        raise ApiError(401, "missing token: send 'Authorization: Bearer <token>'",
                       "Authorization")
    who = request.app[AUTH].authenticate(token) if token else None
    if who is None:
        raise ApiError(401, "invalid token", "Authorization")
    return who


def supervisor(request: web.Request) -> Principal:
    """The caller, who must hold a supervisor token (401 or 403 otherwise)."""
    who = caller(request)
    if not who.is_supervisor:
        raise ApiError(403, "this needs a supervisor token", "Authorization")
    return who


def acting_on_agent(request: web.Request, agent: str) -> Principal:
    """The caller, who must be that agent or a supervisor."""
    who = caller(request)
    if not who.may_act_on_agent(agent):
        raise ApiError(403, f"an agent token acts only on its own agent ({who.agent!r}), "
                       f"not on {agent!r}", "agent")
    return who


def plain(value: Any) -> Any:
    """A JSON-ready copy of a result: dataclasses, mappings, tuples, datetimes."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), separators=(",", ":"))


def ok(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json")
