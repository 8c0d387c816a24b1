"""ARI error mapping from status and body (pure)."""

from __future__ import annotations

import pytest

from dialer.adapters.ari import errors
from dialer.adapters.ari.client import AriConfig

HTML = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n'
        b"<title>400 Bad Request</title>\r\n</head><body>\r\n<h1>Bad Request</h1>\r\n"
        b"<p>HTTP request is missing param: [app]</p>\r\n</body></html>\r\n")


@pytest.mark.parametrize(("status", "body", "kind", "text"), [
    (404, b'{"message": "Channel not found"}', errors.AriNotFound, "Channel not found"),
    (500, b'{"error": "Allocation failed"}', errors.AriServerError, "Allocation failed"),
    (400, HTML, errors.AriBadRequest, "HTTP request is missing param: [app]"),
    (412, b'{"message": "Channel in invalid state"}', errors.AriPreconditionFailed,
     "Channel in invalid state"),
    (405, b'{"message": "Invalid method"}', errors.AriHttpError, "Invalid method"),
    (401, b"", errors.AriAuthError, "(empty body)"),
    (418, b"teapot", errors.AriHttpError, "(text/plain body) teapot"),
])
def test_error_bodies_of_every_shape_give_the_typed_error_and_message(
        status: int, body: bytes, kind: type[errors.AriHttpError], text: str) -> None:
    err = errors.error_for(status, "Reason", body, "text/plain", method="GET", path="/x")
    assert type(err) is kind and err.message == text and err.status == status
    assert str(err) == f"ARI GET /x: {status} Reason: {text}"


def test_config_repr_and_header_mode_keep_the_password_out_of_urls() -> None:
    cfg = AriConfig(password="dialer-secret")
    assert "dialer-secret" not in repr(cfg)
    assert cfg.auth_params() == {}
    assert cfg.auth_headers()["Authorization"].startswith("Basic ")
    assert AriConfig(password="p", auth="api_key").auth_params() == {"api_key": "dialer:p"}


def test_base_url_with_or_without_the_ari_suffix_gives_one_root() -> None:
    for url in ("http://h:8088", "http://h:8088/", "http://h:8088/ari", "http://h:8088/ari/"):
        assert AriConfig(base_url=url).root() == "http://h:8088/ari"
