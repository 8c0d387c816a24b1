"""The HTTP application: control API, status WebSocket, /metrics, health and wallboard.

``create_app(port, auth)`` builds it; ``serving(app, host, port)`` runs it until the
context exits (the engine's composition root owns that context).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from dialer.api import agent, health, status, supervisor
from dialer.api.auth import TokenAuth
from dialer.api.context import AUTH, PORT
from dialer.api.errors import error_middleware
from dialer.api.ports import ControlPort

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(control: ControlPort, auth: TokenAuth, *,
               status_interval: float = 1.0) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    app[PORT] = control
    app[AUTH] = auth
    app[status.HUB] = status.StatusHub(control, status_interval)
    app.cleanup_ctx.append(status.hub_context)
    app.on_shutdown.append(status.close_sockets)
    for table in (health.routes, status.routes, supervisor.routes, agent.routes):
        app.router.add_routes(table)
    app.router.add_get("/", _to_wallboard)
    app.router.add_get("/wallboard", _to_wallboard)
    app.router.add_get("/wallboard/", _wallboard_page)
    app.router.add_static("/wallboard/static/", STATIC, append_version=True)
    return app


async def _to_wallboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/wallboard/")


async def _wallboard_page(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / "wallboard.html")
    response.headers.update(PAGE_HEADERS)
    return response


@asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``app`` on host:port (0 picks a free port); yields the bound port."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield _bound_port(runner, port)
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, default: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return default
