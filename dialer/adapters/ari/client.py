"""ARI REST client on aiohttp: the calls the engine makes, returning typed resources.

Authentication is an ``Authorization: Basic`` header built here, or the ``api_key``
query parameter (aiohttp's ``BasicAuth`` helper is deprecated in 3.14). Logs name the
method and path only, never the query string, so the ``api_key`` never reaches them.

Ids are chosen by the caller (``channelId``, ``otherChannelId``, ``bridgeId``,
``playbackId``): events for a new channel can arrive on the WebSocket before the HTTP
reply, and the engine matches them by these ids.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import structlog

from dialer.adapters.ari import models
from dialer.adapters.ari.errors import AriConnectionError, AriDoubleDial, AriError, error_for

log = structlog.get_logger("dialer.adapters.ari")

HANGUP_REASONS = frozenset({
    "normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
    "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure",
    "answered_elsewhere",
})
_ONCE_MEMORY = 100_000
# What AMI's Originate asks for (8 kHz signed linear). Without `formats`, ARI asks for
# every audio format and a Local channel picks slin192: on Asterisk 22.10.1 AMD then heard
# a machine greeting differently (MAXWORDS after about 1.25 s instead of LONGGREETING
# after 2.3-2.6 s) and every frame was resampled. With it both paths behave the same.
ORIGINATE_FORMATS = "slin"


@dataclass(frozen=True, slots=True)
class AriConfig:
    base_url: str = "http://127.0.0.1:8088"
    username: str = "dialer"
    password: str = field(default="", repr=False)
    app: str = "dialer"
    auth: Literal["header", "api_key"] = "header"
    request_timeout: float = 10.0
    heartbeat: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    def root(self) -> str:
        """``http://host:port/ari``, whether or not ``base_url`` already ends in /ari."""
        base = self.base_url.rstrip("/")
        return base if base.endswith("/ari") else f"{base}/ari"

    def auth_headers(self) -> dict[str, str]:
        if self.auth != "header":
            return {}
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def auth_params(self) -> dict[str, str]:
        return {"api_key": f"{self.username}:{self.password}"} if self.auth == "api_key" else {}


@dataclass(frozen=True, slots=True)
class AriOriginate:
    """``POST /channels``: into the Stasis ``app`` (with ``app_args``) or into the
    dialplan (``context``/``extension``/``priority``), never both. ``formats`` defaults
    to :data:`ORIGINATE_FORMATS`, the same as an AMI originate; None leaves the choice
    to Asterisk."""

    endpoint: str
    channel_id: str
    other_channel_id: str | None = None
    app: str | None = None
    app_args: Sequence[str] = ()
    context: str | None = None
    extension: str | None = None
    priority: int | None = None
    caller_id: str | None = None
    timeout_s: int = 30
    variables: Mapping[str, str] = field(default_factory=dict)
    formats: str | None = ORIGINATE_FORMATS


@dataclass(frozen=True, slots=True)
class AsteriskInfo:
    version: str
    entity_id: str


def _once(seen: OrderedDict[str, None], key: str, verb: str, path: str) -> None:
    """Remember ``key``; raise AriDoubleDial if it was seen (bounded memory)."""
    if key in seen:
        raise AriDoubleDial(f"channel {key} was already {verb} once", method="POST", path=path)
    seen[key] = None
    if len(seen) > _ONCE_MEMORY:
        seen.popitem(last=False)


def _path_id(value: str) -> str:
    if not value:
        raise AriError("an empty id cannot name a resource")
    return quote(value, safe="")


def _originate_params(req: AriOriginate) -> dict[str, str | None]:
    if (req.app is None) == (req.extension is None):
        raise AriError("originate: give app, or context/extension, exactly one of them")
    if any("," in a for a in req.app_args):
        raise AriError("originate: app_args must not contain ',' (Asterisk splits on it)")
    return {
        "endpoint": req.endpoint, "channelId": req.channel_id,
        "otherChannelId": req.other_channel_id, "app": req.app,
        "appArgs": ",".join(req.app_args) if req.app_args else None,
        "context": req.context, "extension": req.extension,
        "priority": None if req.priority is None else str(req.priority),
        "callerId": req.caller_id, "timeout": str(req.timeout_s), "formats": req.formats,
    }


class AriClient:
    """REST calls. Owns its aiohttp session unless one is passed in."""

    def __init__(self, config: AriConfig, session: aiohttp.ClientSession | None = None) -> None:
        self.config = config
        self._session = session
        self._owns_session = session is None
        self._dialed: OrderedDict[str, None] = OrderedDict()
        self._originated: OrderedDict[str, None] = OrderedDict()

    async def __aenter__(self) -> AriClient:
        self.session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.request_timeout))
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, *, params: Mapping[str, str | None] | None = None,
                   body: Mapping[str, Any] | None = None) -> Any:
        """One request; returns the decoded JSON (``None`` for 204) or raises AriError."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query.update(self.config.auth_params())
        url = f"{self.config.root()}{path}"
        try:
            async with self.session().request(
                    method, url, params=query, json=body,
                    headers=self.config.auth_headers()) as resp:
                data = await resp.read()
                if resp.status >= 400:
                    raise error_for(resp.status, resp.reason or "", data,
                                    resp.content_type, method=method, path=path)
                log.debug("ari_call", method=method, path=path, status=resp.status)
                return await resp.json(content_type=None) if data else None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise AriConnectionError(f"{type(exc).__name__}: {exc}", method=method,
                                     path=path) from None
        except ValueError as exc:
            raise AriError(f"reply is not JSON: {exc}", method=method, path=path) from None

    # -- channels --------------------------------------------------------------------

    async def originate(self, req: AriOriginate) -> models.Channel:
        """``POST /channels``, at most once per ``channel_id`` (the attempt's id), even
        when the first request failed: its fate is reconciled, never retried."""
        params = _originate_params(req)
        _once(self._originated, req.channel_id, "originated", "/channels")
        body = {"variables": dict(req.variables)} if req.variables else None
        return models.parse_channel(await self.call("POST", "/channels", params=params,
                                                    body=body))

    async def create_channel(self, endpoint: str, channel_id: str, app: str,
                             app_args: Sequence[str] = (), other_channel_id: str | None = None,
                             formats: str | None = None) -> models.Channel:
        """``POST /channels/create``: the channel enters Stasis at once, state Down."""
        params = {"endpoint": endpoint, "channelId": channel_id, "app": app,
                  "appArgs": ",".join(app_args) or None, "otherChannelId": other_channel_id,
                  "formats": formats}
        return models.parse_channel(await self.call("POST", "/channels/create", params=params))

    async def dial(self, channel_id: str, caller: str | None = None,
                   timeout_s: int | None = None) -> None:
        """``POST /channels/{id}/dial``, at most once per channel id, ever.

        A second /dial for the same channel crashed Asterisk 22.10.1 (traces
        ``ari-crash/``), so it is refused here before anything is sent, even when the
        first one failed."""
        _once(self._dialed, channel_id, "dialed", f"/channels/{channel_id}/dial")
        params = {"caller": caller, "timeout": None if timeout_s is None else str(timeout_s)}
        await self.call("POST", f"/channels/{_path_id(channel_id)}/dial", params=params)

    async def get_channel(self, channel_id: str) -> models.Channel:
        return models.parse_channel(await self.call("GET", f"/channels/{_path_id(channel_id)}"))

    async def list_channels(self) -> list[models.Channel]:
        data = await self.call("GET", "/channels")
        if not isinstance(data, list):
            raise AriError("GET /channels did not return a list")
        return [models.parse_channel(item) for item in data]

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        if reason not in HANGUP_REASONS:
            raise AriError(f"hangup: unknown reason {reason!r}; one of {sorted(HANGUP_REASONS)}")
        await self.call("DELETE", f"/channels/{_path_id(channel_id)}",
                        params={"reason": reason})

    async def answer(self, channel_id: str) -> None:
        await self.call("POST", f"/channels/{_path_id(channel_id)}/answer")

    async def send_dtmf(self, channel_id: str, dtmf: str) -> None:
        await self.call("POST", f"/channels/{_path_id(channel_id)}/dtmf", params={"dtmf": dtmf})

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.call("POST", f"/channels/{_path_id(channel_id)}/variable",
                        params={"variable": variable, "value": value})

    async def get_variable(self, channel_id: str, variable: str) -> str:
        data = await self.call("GET", f"/channels/{_path_id(channel_id)}/variable",
                               params={"variable": variable})
        return models.Obj(data, "Variable").opt_text("value")

    # -- media -----------------------------------------------------------------------

    async def play(self, channel_id: str, media: str | Sequence[str], playback_id: str,
                   lang: str | None = None) -> models.Playback:
        return await self._play(f"/channels/{_path_id(channel_id)}/play", media,
                                playback_id, lang)

    async def play_on_bridge(self, bridge_id: str, media: str | Sequence[str],
                             playback_id: str, lang: str | None = None) -> models.Playback:
        return await self._play(f"/bridges/{_path_id(bridge_id)}/play", media,
                                playback_id, lang)

    async def _play(self, path: str, media: str | Sequence[str], playback_id: str,
                    lang: str | None) -> models.Playback:
        uris = media if isinstance(media, str) else ",".join(media)
        params = {"media": uris, "playbackId": playback_id, "lang": lang}
        return models.parse_playback(await self.call("POST", path, params=params))

    async def stop_playback(self, playback_id: str) -> None:
        await self.call("DELETE", f"/playbacks/{_path_id(playback_id)}")

    # -- bridges ---------------------------------------------------------------------

    async def create_bridge(self, bridge_id: str, bridge_type: str = "mixing",
                            name: str | None = None) -> models.Bridge:
        params = {"type": bridge_type, "bridgeId": bridge_id, "name": name}
        return models.parse_bridge(await self.call("POST", "/bridges", params=params))

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.call("DELETE", f"/bridges/{_path_id(bridge_id)}")

    async def list_bridges(self) -> list[models.Bridge]:
        data = await self.call("GET", "/bridges")
        if not isinstance(data, list):
            raise AriError("GET /bridges did not return a list")
        return [models.parse_bridge(item) for item in data]

    async def add_channel(self, bridge_id: str, *channel_ids: str) -> None:
        await self.call("POST", f"/bridges/{_path_id(bridge_id)}/addChannel",
                        params={"channel": ",".join(channel_ids)})

    async def remove_channel(self, bridge_id: str, *channel_ids: str) -> None:
        await self.call("POST", f"/bridges/{_path_id(bridge_id)}/removeChannel",
                        params={"channel": ",".join(channel_ids)})

    # -- asterisk --------------------------------------------------------------------

    async def asterisk_info(self) -> AsteriskInfo:
        system = models.Obj(await self.call("GET", "/asterisk/info"), "AsteriskInfo")
        sub = system.opt_obj("system")
        if sub is None:
            return AsteriskInfo(version="", entity_id="")
        return AsteriskInfo(version=sub.opt_text("version"), entity_id=sub.opt_text("entity_id"))

    async def get_global(self, variable: str) -> str:
        """A dialplan GLOBAL() variable ('' when unset)."""
        data = await self.call("GET", "/asterisk/variable", params={"variable": variable})
        return models.Obj(data, "Variable").opt_text("value")

    async def clear_global(self, variable: str) -> None:
        await self.call("POST", "/asterisk/variable", params={"variable": variable})

    async def ping(self) -> models.AsteriskPing:
        return models.parse_ping(await self.call("GET", "/asterisk/ping"))
