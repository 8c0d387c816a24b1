"""Typed ARI errors carrying the HTTP status and Asterisk's own message.

Bodies are usually ``{"message": ...}``; an unknown technology answers
``{"error": "Allocation failed"}`` and a WebSocket upgrade without ``app`` answers an
HTML page. All three shapes end up in :attr:`AriError.message`.
"""

from __future__ import annotations

import json
import re


class AriError(Exception):
    """Base of every ARI client error."""

    def __init__(self, message: str, *, method: str = "", path: str = "",
                 status: int | None = None, reason: str = "") -> None:
        where = f"{method} {path}".strip()
        head = f"ARI {where}: " if where else "ARI: "
        code = f"{status} {reason}: ".lstrip() if status is not None else ""
        super().__init__(f"{head}{code}{message}")
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason


class AriConnectionError(AriError):
    """No HTTP answer (refused, reset, timed out); the request's fate is unknown."""


class AriDoubleDial(AriError):
    """A second ``/dial`` (it crashes Asterisk 22) or a second originate for one channel
    id was refused locally; nothing was sent."""


class AriHttpError(AriError):
    """Asterisk answered with an error status."""


class AriBadRequest(AriHttpError):
    """400: a missing or invalid parameter (also ``Channel not found`` on addChannel)."""


class AriAuthError(AriHttpError):
    """401: bad or missing credentials. Not retried."""


class AriNotFound(AriHttpError):
    """404: unknown channel, bridge, playback, application or URL."""


class AriConflict(AriHttpError):
    """409: duplicate id, or the channel is not in Stasis / not in the right state."""


class AriPreconditionFailed(AriHttpError):
    """412: media operation on a channel in an invalid state (e.g. Down in Stasis)."""


class AriUnprocessable(AriHttpError):
    """422: the request is well formed but cannot be done (e.g. addChannel not in Stasis)."""


class AriServerError(AriHttpError):
    """5xx: Asterisk failed (e.g. ``Allocation failed`` for an unknown technology)."""


_BY_STATUS: dict[int, type[AriHttpError]] = {
    400: AriBadRequest, 401: AriAuthError, 404: AriNotFound, 409: AriConflict,
    412: AriPreconditionFailed, 422: AriUnprocessable,
}


def body_message(body: bytes, content_type: str) -> str:
    """Asterisk's explanation from an error body, whatever its shape."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return "(empty body)"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        found = data.get("message") or data.get("error")
        if isinstance(found, str):
            return found
    para = re.search(r"<p>(.*?)</p>", text, re.S | re.I)
    if para:
        return para.group(1).strip()
    return f"({content_type or 'unknown'} body) {text[:200]}"


def error_for(status: int, reason: str, body: bytes, content_type: str, *,
              method: str, path: str) -> AriHttpError:
    """The typed error for one error response."""
    kind = _BY_STATUS.get(status, AriServerError if status >= 500 else AriHttpError)
    return kind(body_message(body, content_type), method=method, path=path,
                status=status, reason=reason)
