"""AMI action builders and the reconnect backoff."""

from __future__ import annotations

import random
import uuid

import pytest

from dialer.adapters.ami import actions
from dialer.adapters.ami.protocol import parse_stream
from dialer.adapters.backoff import Backoff

ATTEMPT = uuid.UUID("6f1c2a4e-9b7d-4c1e-8a55-0d2f3e4b5c6d")


def request(**kw: object) -> actions.OriginateRequest:
    base: dict[str, object] = dict(attempt_id=ATTEMPT, channel="Local/5550106@carrier-sim",
                                   context="dialer-amd", exten="s",
                                   caller_id='"Dialer" <2125550000>', timeout_ms=30000,
                                   variables={"DIALER_MODE": "event"})
    base.update(kw)
    return actions.OriginateRequest(**base)  # type: ignore[arg-type]


def test_originate_is_always_async_with_ids_derived_from_the_attempt() -> None:
    action = actions.originate(request())
    (msg,) = parse_stream(action.to_bytes(action.action_id or ""), expect_banner=False)
    assert msg["Action"] == "Originate" and msg["Async"] == "true"
    assert msg["ActionID"] == f"orig-{ATTEMPT}"
    assert msg["ChannelId"] == str(ATTEMPT) and msg["OtherChannelId"] == f"{ATTEMPT};2"
    assert msg.get_all("Variable") == [f"DIALER_ATTEMPT={ATTEMPT}", "DIALER_MODE=event"]
    assert (msg["CallerID"], msg["Timeout"]) == ('"Dialer" <2125550000>', "30000")
    assert (msg["Context"], msg["Exten"], msg["Priority"]) == ("dialer-amd", "s", "1")


def test_originate_action_id_maps_back_to_the_attempt() -> None:
    aid = actions.originate(request()).action_id
    assert aid is not None and actions.attempt_from_action_id(aid) == ATTEMPT
    assert actions.attempt_from_action_id("ping-1") is None
    assert actions.attempt_from_action_id("orig-not-a-uuid") is None


def test_originate_to_an_application_sends_application_and_data() -> None:
    action = actions.originate(request(context=None, exten=None, application="Wait",
                                       data="120"))
    headers = dict(action.headers)
    assert headers["Application"] == "Wait" and headers["Data"] == "120"
    assert "Context" not in headers


@pytest.mark.parametrize(("kw", "words"), [
    ({"variables": {"BAD-NAME": "x"}}, "BAD-NAME"),
    ({"variables": {"A": "x,y"}}, "variable A value contains ','"),
    ({"variables": {"DIALER_ATTEMPT": "x"}}, "set by the dialer"),
    ({"channel": ""}, "channel"),
    ({"timeout_ms": 0}, "timeout_ms"),
    ({"context": None}, "context and exten"),
    ({"application": "Wait"}, "either application"),
    ({"caller_id": "x\r\nAction: Hangup"}, "line break"),
])
def test_bad_originate_values_are_refused_with_a_clear_message(
        kw: dict[str, object], words: str) -> None:
    with pytest.raises(actions.ActionError, match=words):
        actions.originate(request(**kw))


def test_md5_key_matches_the_recorded_login() -> None:
    # ami-02: Challenge 104456034, secret dialer-secret, recorded Key below.
    action = actions.login_md5("dialer", "104456034", "dialer-secret")
    assert dict(action.headers)["Key"] == "4c33f3fe6c2b6a6aa3f4526dbd23d2e8"


def test_redacted_headers_hide_secret_and_key() -> None:
    assert actions.login_plain("dialer", "s3cret").redacted()["Secret"] == "***"
    assert actions.login_md5("dialer", "1", "s3cret").redacted()["Key"] == "***"
    assert "s3cret" not in repr(actions.login_plain("u", "s3cret").redacted())


def test_list_actions_are_known_as_lists() -> None:
    assert actions.core_show_channels().is_list and actions.status().is_list
    assert actions.bridge_list().is_list and not actions.ping().is_list


def test_backoff_grows_exponentially_within_bounds_and_resets() -> None:
    b = Backoff(initial=0.5, maximum=8.0, factor=2.0, jitter=0.0)
    assert [b.delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    b.reset()
    assert b.delay() == 0.5


def test_backoff_jitter_stays_inside_initial_and_maximum() -> None:
    b = Backoff(initial=0.5, maximum=8.0, jitter=0.5, rng=random.Random(7))
    delays = [b.delay() for _ in range(200)]
    assert min(delays) >= 0.5 and max(delays) <= 8.0
    assert len({round(d, 6) for d in delays[10:]}) > 1


def test_backoff_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0, maximum=1)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
