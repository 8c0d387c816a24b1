"""Structured logs: JSON lines, call context, transitions, and no secret in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from dialer.config import parse_config
from dialer.obs.logging import (
    MASK,
    Redactor,
    call_context,
    call_logger,
    configure_logging,
    get_logger,
    log_transition,
    secrets_from_config,
)

AMI_SECRET = "amiS3cret-value"
ARI_PASSWORD = "ariPa55-word"
DB_PASSWORD = "dbpw-K9x2"
TOKEN = "tok-7f3a9c1e5b"
UNREGISTERED = "zz-unregistered-secret-91"


class TTYBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_secrets_never_reach_the_log_output(out: io.StringIO) -> None:
    configure_logging("json", "debug", secrets=[AMI_SECRET, ARI_PASSWORD, DB_PASSWORD, TOKEN],
                      stream=out)
    log = get_logger("dialer.test")
    log.info("ami login", secret=AMI_SECRET, username="dialer")
    log.info("ari config", ari={"url": "http://asterisk:8088", "password": ARI_PASSWORD})
    log.info(f"connecting to postgresql://dialer:{DB_PASSWORD}@db:5432/dialer")
    log.info("connecting", dsn=f"postgresql://dialer:{UNREGISTERED}@db/dialer")
    log.info("libpq", dsn=f"host=db user=dialer password={UNREGISTERED} dbname=dialer")
    log.info("ari socket", url=f"ws://asterisk:8088/ari/events?app=dialer&api_key=dialer:"
                               f"{UNREGISTERED}")
    log.info("request", headers={"Authorization": f"Bearer {TOKEN}"}, tokens=[UNREGISTERED],
             credentials={"ari": {"user": "dialer", "pass": UNREGISTERED}})
    log.info("http", header=f"Authorization: Bearer {UNREGISTERED}")
    log.info("sent", raw=f"Action: Login\r\nUsername: dialer\r\nSecret: {UNREGISTERED}\r\n\r\n")
    log.info("body", text=json.dumps({"password": UNREGISTERED}))
    log.info("bytes", raw=f"Secret: {AMI_SECRET}".encode())
    log.info("free text holding a known secret", note=f"value was {ARI_PASSWORD} today")
    log.info("tuple", args=("x", {"nested": [f"api_key={UNREGISTERED}"]}))
    try:
        raise ConnectionError(f"cannot reach postgresql://dialer:{DB_PASSWORD}@db/dialer")
    except ConnectionError:
        log.exception("database down")
    logging.getLogger("aiohttp.access").info(
        '127.0.0.1 "GET /api/status?token=%s HTTP/1.1" 200', UNREGISTERED)
    logging.getLogger("asyncio").error("peer sent Secret: %s", AMI_SECRET)
    text = out.getvalue()
    for secret in (AMI_SECRET, ARI_PASSWORD, DB_PASSWORD, TOKEN, UNREGISTERED):
        assert secret not in text, secret
    assert text.count(MASK) >= 16
    assert len(lines(out)) == 16


def test_redaction_keeps_what_is_not_secret() -> None:
    redact = Redactor([AMI_SECRET])
    event = redact(None, "info", {"event": "dial", "campaign": "sales", "in_flight": 3,
                                  "ratio": 0.02, "ok": True, "host": "db:5432",
                                  "dsn": "postgresql://dialer@db/dialer"})
    assert event == {"event": "dial", "campaign": "sales", "in_flight": 3, "ratio": 0.02,
                     "ok": True, "host": "db:5432", "dsn": "postgresql://dialer@db/dialer"}
    assert redact.text("postgresql://u:pw@h/d") == f"postgresql://u:{MASK}@h/d"


def test_production_lines_are_json_with_level_time_and_logger(out: io.StringIO) -> None:
    configure_logging("json", "info", stream=out)
    get_logger("dialer.engine").info("engine started", engine_id="e1")
    get_logger("dialer.engine").debug("not shown")
    (line,) = lines(out)
    assert line["event"] == "engine started" and line["engine_id"] == "e1"
    assert line["level"] == "info" and line["logger"] == "dialer.engine"
    assert str(line["timestamp"]).endswith("Z")


def test_auto_format_is_readable_console_on_a_terminal() -> None:
    tty = TTYBuffer()
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        configure_logging("auto", "info", stream=tty)
        get_logger("dialer").info("campaign started", campaign="sales", secret=AMI_SECRET)
    finally:
        root.handlers[:] = handlers
        structlog.reset_defaults()
    text = tty.getvalue()
    assert "campaign started" in text and "campaign" in text and "sales" in text
    assert AMI_SECRET not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'yaml'"):
        configure_logging("yaml", stream=io.StringIO())


def test_call_lines_carry_attempt_campaign_and_agent(out: io.StringIO) -> None:
    configure_logging("json", "info", stream=out)
    log = get_logger("dialer.call")
    call_logger(log, attempt_id="a1", campaign="sales", agent=None).info("ringing")
    with call_context(attempt_id="a2", campaign="sales", agent="alice"):
        log.info("bridged")
    log.info("after")
    ringing, bridged, after = lines(out)
    assert ringing["attempt_id"] == "a1" and "agent" not in ringing
    assert (bridged["attempt_id"], bridged["campaign"], bridged["agent"]) == ("a2", "sales",
                                                                               "alice")
    assert "attempt_id" not in after


def test_transition_is_logged_as_state_event_arrow(out: io.StringIO) -> None:
    configure_logging("json", "info", stream=out)
    log = call_logger(get_logger("dialer.call"), attempt_id="a3", campaign="sales")
    log_transition(log, "call", "ringing", "CallAnswered", "amd")
    (line,) = lines(out)
    assert line["event"] == "ringing -[CallAnswered]-> amd"
    assert (line["machine"], line["from_state"], line["on_event"], line["to_state"]) == (
        "call", "ringing", "CallAnswered", "amd")
    assert line["attempt_id"] == "a3"


def test_secrets_from_config_lists_every_secret_of_the_engine_config() -> None:
    cfg = parse_config(
        "api:\n  tokens:\n    - {role: supervisor, env: SUP_TOKEN}\n",
        env={"DIALER_DATABASE_URL": f"postgresql://dialer:{DB_PASSWORD}%21@db/dialer",
             "DIALER_AMI_SECRET": AMI_SECRET, "DIALER_ARI_PASSWORD": ARI_PASSWORD})
    found = secrets_from_config(cfg, {"SUP_TOKEN": TOKEN})
    assert sorted(found) == sorted([AMI_SECRET, ARI_PASSWORD, f"{DB_PASSWORD}!", TOKEN])
