"""Every error the API returns is JSON: ``{"error": {"code", "message", "field"}}``.

The middleware maps the port's typed errors (404 unknown campaign, 422 illegal setting,
409 not possible now), request errors (400 bad JSON or types), aiohttp's own HTTP errors
(404 no route, 405, 413) and, last, anything unexpected (500, logged, details withheld).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from dialer.api.ports import PortError
from dialer.core.errors import IllegalTransition

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("dialer.api")
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "bad_media_type",
          422: "invalid_setting", 503: "unavailable"}


class ApiError(Exception):
    """An error with its HTTP status, raised by handlers and validation helpers."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.code = code or _CODES.get(status, "error")


def json_error(status: int, message: str, field: str | None = None,
               code: str | None = None, headers: dict[str, str] | None = None) -> web.Response:
    body = {"code": code or _CODES.get(status, "error"), "message": message, "field": field}
    return web.json_response({"error": body}, status=status, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        headers = {"WWW-Authenticate": 'Bearer realm="dialer"'} if err.status == 401 else None
        return json_error(err.status, err.message, err.field, err.code, headers)
    except PortError as err:
        return json_error(err.status, err.message, err.field)
    except IllegalTransition as err:
        return json_error(409, str(err), code="conflict")
    except web.HTTPException as err:
        if err.status < 400:
            raise
        return _from_http_exception(err)
    except Exception:
        log.exception("unhandled API error", method=request.method, path=request.path)
        return json_error(500, "internal error; see the engine log", code="internal")


def _from_http_exception(err: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in err.headers.items() if k.lower() == "allow"}
    message = err.text if err.text and not err.text.startswith(f"{err.status}:") else err.reason
    return json_error(err.status, _one_line(message), headers=headers or None)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
