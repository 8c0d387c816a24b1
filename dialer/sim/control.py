"""The simulator's control API, served next to ARI under ``/_sim`` (real Asterisk has
no such prefix), with the same credentials as ARI (``api_key=user:secret`` or Basic).

It answers even while the simulator stalls or refuses ARI requests, so a chaos suite can
always read the record and undo a fault.

==========================================  ============================================
``GET  /_sim/record[?since=N]``             this process's record from line N (default
                                            0) as JSON lines; headers
                                            ``X-Sim-Record-First`` (index of the first
                                            line sent) and ``X-Sim-Record-Next`` (pass as
                                            ``since`` next time)
``GET  /_sim/state``                        live channels and bridges (JSON)
``POST /_sim/faults/drop-ami``              cut every AMI connection
``POST /_sim/faults/drop-ari``              cut every ARI WebSocket
``POST /_sim/faults/restart``               an Asterisk restart: every channel, bridge
                                            and connection is lost
``POST /_sim/faults/stall?seconds=N``       hold every AMI and ARI reply and event N s
``POST /_sim/faults/refuse?on=true|false``  stop (resume) accepting AMI connections and
                                            ARI requests
==========================================  ============================================

Every answer but the record is one JSON object; errors are ``{"message": ...}`` with 400
(bad parameter), 401 (no or wrong credentials), 404 (unknown path) or 405 (wrong method).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from dialer.sim.channels import Bridge, Channel
from dialer.sim.record import role_of

if TYPE_CHECKING:
    from dialer.sim.server import SimAsterisk

PREFIX = "/_sim/"
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


class SimControl:
    """The ``/_sim`` handlers of one simulator."""

    def __init__(self, sim: SimAsterisk) -> None:
        self.sim = sim
        self.routes: dict[str, dict[str, Handler]] = {
            "record": {"GET": self.record},
            "state": {"GET": self.state},
            "faults/drop-ami": {"POST": self.drop_ami},
            "faults/drop-ari": {"POST": self.drop_ari},
            "faults/restart": {"POST": self.restart},
            "faults/stall": {"POST": self.stall},
            "faults/refuse": {"POST": self.refuse},
        }

    async def dispatch(self, request: web.Request) -> web.Response:
        """Route a request whose path starts with ``/_sim/`` (already authorised)."""
        methods = self.routes.get(request.path[len(PREFIX):].strip("/"))
        if methods is None:
            return _error(404, f"no control resource {request.path}")
        handler = methods.get(request.method)
        if handler is None:
            return _error(405, f"{request.path} takes {', '.join(methods)}, "
                               f"not {request.method}")
        return await handler(request)

    # ---- reading --------------------------------------------------------------------

    async def record(self, request: web.Request) -> web.Response:
        text = request.query.get("since", "0")
        if not text.isdigit():
            return _error(400, f"since: expected a line index (0 or more), got {text!r}")
        record = self.sim.record
        first, lines = record.since(int(text))
        headers = {"X-Sim-Record-First": str(first),
                   "X-Sim-Record-Next": str(first + len(lines))}
        return web.Response(text="".join(lines), content_type="application/x-ndjson",
                            headers=headers)

    async def state(self, request: web.Request) -> web.Response:
        pbx = self.sim.pbx
        return web.json_response({
            "pid": os.getpid(), "uptime_s": round(time.time() - pbx.started, 3),
            "record_next": self.sim.record.next_index, "errors": len(self.sim.errors),
            "record_file": str(self.sim.record.path) if self.sim.record.path else None,
            "record_error": str(self.sim.record.error) if self.sim.record.error else None,
            "channels": [_channel(c) for c in pbx.channels.values()],
            "bridges": [_bridge(b) for b in pbx.bridges.values()]})

    # ---- faults ---------------------------------------------------------------------

    async def drop_ami(self, request: web.Request) -> web.Response:
        return web.json_response({"fault": "drop-ami", "dropped": self.sim.drop_ami()})

    async def drop_ari(self, request: web.Request) -> web.Response:
        dropped = self.sim.drop_ari_websockets()
        return web.json_response({"fault": "drop-ari", "dropped": dropped})

    async def restart(self, request: web.Request) -> web.Response:
        channels, bridges = await self.sim.restart()
        return web.json_response({"fault": "restart", "lost_channels": channels,
                                  "lost_bridges": bridges})

    async def stall(self, request: web.Request) -> web.Response:
        text = request.query.get("seconds", "")
        try:
            seconds = float(text)
        except ValueError:
            seconds = -1.0
        if not math.isfinite(seconds) or not 0 <= seconds <= 3600:
            return _error(400, f"seconds: expected a number from 0 to 3600, got {text!r}")
        self.sim.stall(seconds)
        return web.json_response({"fault": "stall", "seconds": seconds})

    async def refuse(self, request: web.Request) -> web.Response:
        text = request.query.get("on", "true").lower()
        if text not in ("true", "false", "1", "0"):
            return _error(400, f"on: expected true or false, got {text!r}")
        on = text in ("true", "1")
        await self.sim.refuse_connections(on)
        return web.json_response({"fault": "refuse", "on": on})


def _channel(ch: Channel) -> dict[str, Any]:
    return {"id": ch.ari_id, "name": ch.name, "state": ch.state_desc, "role": role_of(ch),
            "number": ch.number or None,
            "bridge": ch.bridge.uniqueid if ch.bridge is not None else None}


def _bridge(b: Bridge) -> dict[str, Any]:
    return {"id": b.uniqueid, "type": b.bridge_type, "peak": b.peak,
            "members": [{"id": c.ari_id, "role": role_of(c)} for c in b.channels]}
