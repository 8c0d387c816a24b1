"""Unauthenticated operational endpoints: ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import structlog
from aiohttp import web

from dialer.api.context import ok, port
from dialer.api.ports import READINESS_PARTS
from dialer.obs import metrics
from dialer.obs.logging import REDACTOR

log = structlog.get_logger("dialer.api.health")
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return ok({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready only when the database, AMI, ARI and the compliance filter are all up, and
    the engine is in step with Asterisk (its start-up takeover is done)."""
    try:
        parts = await port(request).readiness()
    except Exception as err:
        log.exception("readiness check failed")
        down = dict.fromkeys(READINESS_PARTS, False)
        body = {"ready": False, "parts": down, "detail": {"engine": type(err).__name__}}
        return ok(body, status=503)
    body = {"ready": parts.ready,
            "parts": {name: getattr(parts, name) for name in READINESS_PARTS},
            "detail": {k: REDACTOR.text(v) for k, v in parts.detail.items()}}
    return ok(body, status=200 if parts.ready else 503)


@routes.get("/metrics")
async def prometheus(request: web.Request) -> web.Response:
    response = web.Response(body=metrics.exposition())
    response.headers["Content-Type"] = metrics.CONTENT_TYPE
    return response
