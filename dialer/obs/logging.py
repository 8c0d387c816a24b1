"""Structured logs: JSON in production, readable on a terminal, secrets never written.

``configure_logging`` sets up structlog and routes the standard library's loggers (aiohttp,
asyncio) through the same processors, so every line passes the redactor. The redactor
masks values under secret-looking keys, known secret values wherever they appear, and
the usual secret shapes inside any string: a password in a URL, ``api_key=``/``token=``/
``password=`` pairs, ``Bearer``/``Basic`` credentials and AMI ``Secret:`` headers.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import unquote

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

MASK = "[redacted]"
_SECRET_KEY = re.compile(
    r"(secret|passw|pwd|token|api_?key|authorization|cookie|credential|bearer)", re.I)
_PATTERNS = (
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@/\s]+@", re.I), r"\1" + MASK + "@"),
    (re.compile(r"((?:api_?key|access_token|token|password|passwd|secret|pwd)=)"
                r"[^&\s\"',;]+", re.I), r"\1" + MASK),
    (re.compile(r"(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1" + MASK),
    (re.compile(r"((?:secret|key|password|passwd)[\"']?\s*:\s*[\"']?)[^\r\n\"',}&\s]+",
                re.I), r"\1" + MASK),
)
_MIN_SECRET_LEN = 4


class Redactor:
    """Masks secrets in log event dicts; a structlog processor."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        """Known secret values (config secrets, tokens) masked wherever they appear."""
        new = {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}
        self._secrets = sorted(set(self._secrets) | new, key=len, reverse=True)

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        return {key: self._value(key, value) for key, value in event.items()}

    def text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def _value(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and _SECRET_KEY.search(key):
            return _masked(value)
        return self._any(value)

    def _any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._any(v) for v in value]
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))


def _masked(value: Any) -> Any:
    """Everything under a secret-looking key, masked leaf by leaf."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    return MASK


REDACTOR = Redactor()


def configure_logging(fmt: str = "auto", level: str = "info", *,
                      secrets: Iterable[str | None] = (),
                      stream: TextIO | None = None) -> None:
    """Set up structlog and stdlib logging. ``fmt`` is ``auto``, ``json`` or ``console``."""
    out = stream if stream is not None else sys.stderr
    REDACTOR.add_secrets(secrets)
    renderer = _renderer(fmt, out)
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_chain(), processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_tail(), renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.configure(
        processors=[*_shared_chain(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def _shared_chain() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _tail() -> list[Processor]:
    return [structlog.processors.format_exc_info, structlog.processors.StackInfoRenderer(),
            REDACTOR]


def _renderer(fmt: str, out: TextIO) -> Processor:
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"logging format {fmt!r}: expected auto, json or console")
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    if console:
        return structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback)
    return structlog.processors.JSONRenderer(sort_keys=False)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def call_logger(log: Any, *, attempt_id: object | None = None, campaign: str | None = None,
                agent: str | None = None) -> Any:
    """A logger bound to one call: attempt id, campaign and agent where known."""
    return log.bind(**_call_fields(attempt_id, campaign, agent))


@contextmanager
def call_context(*, attempt_id: object | None = None, campaign: str | None = None,
                 agent: str | None = None) -> Iterator[None]:
    """Bind the call's fields to every line logged in this context (contextvars)."""
    with structlog.contextvars.bound_contextvars(**_call_fields(attempt_id, campaign, agent)):
        yield


def _call_fields(attempt_id: object | None, campaign: str | None,
                 agent: str | None) -> dict[str, str]:
    fields = {"attempt_id": attempt_id, "campaign": campaign, "agent": agent}
    return {k: str(v) for k, v in fields.items() if v is not None}


def transition_text(state: str, event: str, new_state: str) -> str:
    return f"{state} -[{event}]-> {new_state}"


def log_transition(log: Any, machine: str, state: str, event: str, new_state: str,
                   **fields: Any) -> None:
    """Log one state-machine step as ``state -[event]-> state``."""
    log.info(transition_text(state, event, new_state), machine=machine, from_state=state,
             on_event=event, to_state=new_state, **fields)


def secrets_from_config(cfg: Any, env: Mapping[str, str]) -> list[str]:
    """The secret values of an engine config, to hand to :func:`configure_logging`:
    AMI secret, ARI password, the database password and every API token read from env."""
    values = [cfg.ami.secret, cfg.ari.password, _dsn_password(cfg.database.url)]
    values += [env.get(token.env) for token in cfg.api.tokens if token.env]
    return [v for v in values if v]


def _dsn_password(dsn: str | None) -> str | None:
    if not dsn:
        return None
    match = re.search(r"://[^:/?#@\s]*:([^@/\s]+)@", dsn) or re.search(
        r"\bpassword=([^\s]+)", dsn)
    return unquote(match.group(1)) if match else None


def redact_mapping(data: MutableMapping[str, Any]) -> dict[str, Any]:
    """Redact a plain mapping (for places that print outside the logger)."""
    return dict(REDACTOR(None, "", dict(data)))
