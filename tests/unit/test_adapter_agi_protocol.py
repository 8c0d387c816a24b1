"""FastAGI reply and environment parsing (pure)."""

from __future__ import annotations

import pytest

from dialer.adapters.agi.protocol import (
    AgiEnvironment,
    AgiProtocolError,
    AgiReply,
    parse_env_line,
    parse_reply,
)


@pytest.mark.parametrize(("line", "expected"), [
    ("200 result=1 (agi-human)", (200, 1, "agi-human", None)),
    ("200 result=0", (200, 0, None, None)),
    ("200 result=-1 endpos=17760", (200, -1, None, 17760)),
    ("200 result=0 endpos=6400", (200, 0, None, 6400)),
    ("200 result=42", (200, 42, None, None)),
    ("200 result=1 (HUMAN/2287ms/Local/x-00000025;1)", (200, 1, "HUMAN/2287ms/Local/x-00000025;1",
                                                        None)),
    ("200 result=1 (a (nested) value) endpos=5", (200, 1, "a (nested) value", 5)),
    ("200 result=1 (endpos=3)", (200, 1, "endpos=3", None)),
    ("510 Invalid or unknown command", (510, None, None, None)),
    ("200 result=*12", (200, None, None, None)),
    ("200 result=042 (timeout)", (200, 42, "timeout", None)),
])
def test_reply_lines_parse_into_code_result_data_endpos(
        line: str, expected: tuple[int, int | None, str | None, int | None]) -> None:
    reply = parse_reply(line)
    assert (reply.code, reply.result, reply.data, reply.endpos) == expected
    assert reply.text == line


def test_multiline_usage_reply_is_one_520_reply() -> None:
    text = "520-Invalid command syntax.  Proper usage follows:\nUsage: X\n520 End of proper usage."
    assert parse_reply(text) == AgiReply(520, None, None, None, text)


def test_environment_lines_and_properties() -> None:
    pairs = dict(parse_env_line(line) for line in (
        "agi_network_script: amd", "agi_request: agi://127.0.0.1:4573/amd",
        "agi_accountcode: ", "agi_arg_1: HUMAN", "agi_arg_2: HUMAN-800-800"))
    env = AgiEnvironment(pairs)
    assert env.script == "amd" and env.args == ("HUMAN", "HUMAN-800-800")
    assert env.get("accountcode") == ""


def test_script_falls_back_to_the_request_path_without_query() -> None:
    env = AgiEnvironment({"request": "agi://10.0.0.1:4573/agent-login?x=1"})
    assert env.script == "agent-login"


@pytest.mark.parametrize("line", ["network: yes", "agi_: x", "agi_channel"])
def test_bad_environment_lines_are_refused_with_the_line(line: str) -> None:
    with pytest.raises(AgiProtocolError, match="agi_<name>"):
        parse_env_line(line)


def test_non_numeric_and_zero_padded_results_keep_their_text() -> None:
    assert parse_reply("200 result=*12").result_text == "*12"
    assert parse_reply("200 result=042 (timeout)").result_text == "042"
