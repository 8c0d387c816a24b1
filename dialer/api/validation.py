"""Reading request bodies and paths: each wrong value is a 400 naming its field."""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime
from typing import Any

import phonenumbers
from aiohttp import web

from dialer.api.errors import ApiError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
ENDPOINT = re.compile(r"^(PJSIP|SIP|IAX2|Local)/[A-Za-z0-9_.@+-]{1,80}$")
_JSON_TYPES = {str: "a string", bool: "true or false", int: "an integer", float: "a number",
               dict: "an object", list: "an array", type(None): "null"}


def _type_name(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


async def read_body(request: web.Request) -> Body:
    """The request's JSON object; an empty body reads as ``{}``."""
    try:
        text = await request.text()
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not UTF-8 text", "body") from None
    if not text.strip():
        return Body({})
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise ApiError(400, f"request body is not valid JSON: {err.msg} at line {err.lineno} "
                       f"column {err.colno}", "body") from None
    except ValueError as err:
        raise ApiError(400, f"request body is not valid JSON: {err}", "body") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"request body must be a JSON object, got {_type_name(data)}",
                       "body")
    return Body(data)


class Body:
    """Typed access to a JSON object's fields; ``done()`` refuses fields nobody read."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._seen: set[str] = set()

    def _get(self, name: str, required: bool) -> Any:
        self._seen.add(name)
        value = self._data.get(name)
        if value is None and required:
            raise ApiError(400, f"{name}: required", name)
        return value

    def _wrong(self, name: str, expected: str, value: object) -> ApiError:
        return ApiError(400, f"{name}: expected {expected}, got {_type_name(value)}", name)

    def string(self, name: str, *, required: bool = True, max_len: int = 200,
               pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(name, "a string", value)
        if not value.strip() or len(value) > max_len:
            raise ApiError(400, f"{name}: expected 1 to {max_len} characters", name)
        if pattern is not None and not pattern.match(value):
            raise ApiError(400, f"{name}: {value!r} is not {what or 'well formed'}", name)
        return value

    def number(self, name: str, *, low: float | None = None, high: float | None = None,
               required: bool = False) -> float | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(name, "a number", value)
        number = _finite(value)
        if number is None:
            raise ApiError(400, f"{name}: expected a finite number", name)
        _check_range(name, number, low, high)
        return number

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(name, "a string", value)
        if value not in options:
            raise ApiError(400, f"{name}: {value!r} is not one of {', '.join(options)}", name)
        return value

    def timestamp(self, name: str) -> datetime | None:
        value = self._get(name, False)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(name, "an ISO 8601 timestamp string", value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ApiError(400, f"{name}: {value!r} is not an ISO 8601 timestamp", name) from None
        if parsed.tzinfo is None:
            raise ApiError(400, f"{name}: the timestamp needs a UTC offset", name)
        return parsed

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ApiError(400, f"unknown field {unknown[0]!r}", unknown[0])


def _finite(value: float) -> float | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise ApiError(400, f"{name}: must be at least {low:g}, got {value:g}", name)
    if high is not None and value > high:
        raise ApiError(400, f"{name}: must be at most {high:g}, got {value:g}", name)


def path_name(request: web.Request, key: str) -> str:
    """A campaign or agent name from the URL path."""
    value = request.match_info[key]
    if not NAME.match(value):
        raise ApiError(400, f"{key}: {value!r} is not a valid name", key)
    return value


def path_uuid(request: web.Request, key: str) -> str:
    value = request.match_info[key]
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, f"{key}: {value!r} is not a UUID", key) from None


def e164(name: str, value: str) -> str:
    """A phone number in E.164 form (``+15551234567``), checked for plausibility."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ApiError(400, f"{name}: expected an E.164 number such as +15551234567",
                       name) from None
    if not phonenumbers.is_possible_number(parsed):
        raise ApiError(400, f"{name}: not a possible phone number", name)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
