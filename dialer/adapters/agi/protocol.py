"""FastAGI wire format, sans I/O: the ``agi_*`` environment and command replies.

Facts from the traces (``../shared/asterisk/traces/fastagi``): lines end in LF; the
environment is ``agi_key: value`` lines ended by a bare ``\\n``; a reply is
``200 result=<n> [(<data>)] [endpos=<n>]`` or ``510 Invalid or unknown command``; a
``520-`` reply spans lines up to ``520 End of proper usage.``; an unsolicited ``HANGUP``
line may arrive at any time, even before the reply to the command just sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

HANGUP_LINE = "HANGUP"
_RESULT = re.compile(r"^result=(\S*)(.*)$")
_INTEGER = re.compile(r"^-?\d+$")
_ENDPOS = re.compile(r"endpos=(-?\d+)")


class AgiProtocolError(ValueError):
    """A line from Asterisk that is not valid FastAGI."""


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply. ``result`` is ``None`` for non-200 codes (and for a non-numeric
    result such as GET DATA's ``*12``, kept in ``result_text``); ``data`` is the text in
    parentheses (``None`` when absent); ``text`` is the raw line(s)."""

    code: int
    result: int | None
    data: str | None
    endpos: int | None
    text: str
    result_text: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == 200


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` variables Asterisk sends first (keys without the ``agi_`` prefix)."""

    values: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    @property
    def script(self) -> str:
        """The script name routed on: ``agi_network_script`` without a query string."""
        raw = self.get("network_script") or urlsplit(self.get("request")).path
        return raw.strip("/").split("?", 1)[0]

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def args(self) -> tuple[str, ...]:
        """``agi_arg_1..N`` in order."""
        out = []
        n = 1
        while f"arg_{n}" in self.values:
            out.append(self.values[f"arg_{n}"])
            n += 1
        return tuple(out)


def parse_env_line(line: str) -> tuple[str, str]:
    """``agi_channel: Local/...`` -> ``("channel", "Local/...")``."""
    key, sep, value = line.partition(": ")
    if not sep:
        key, sep, value = line.partition(":")
    if not sep or not key.startswith("agi_") or len(key) <= 4:
        raise AgiProtocolError(f"environment line is not 'agi_<name>: <value>': {line[:80]!r}")
    return key[4:], value


def parse_reply(text: str) -> AgiReply:
    """Parse one reply line (or the joined lines of a ``520-`` reply)."""
    head = text.split("\n", 1)[0]
    code_text, _, rest = head.partition(" ")
    if len(code_text) != 3 or not code_text.isdigit():
        if len(code_text) >= 4 and code_text[:3].isdigit() and code_text[3] == "-":
            return AgiReply(int(code_text[:3]), None, None, None, text)
        raise AgiProtocolError(f"reply does not start with a 3-digit code: {head[:80]!r}")
    code = int(code_text)
    if code != 200:
        return AgiReply(code, None, None, None, text)
    return _parse_200(rest, text)


def _parse_200(rest: str, text: str) -> AgiReply:
    match = _RESULT.match(rest)
    if match is None:
        raise AgiProtocolError(f"200 reply without result=<n>: {text[:80]!r}")
    tail = match.group(2).strip()
    data = None
    if tail.startswith("("):
        close = tail.rfind(")")
        if close < 0:
            raise AgiProtocolError(f"200 reply with unclosed '(': {text[:80]!r}")
        data, tail = tail[1:close], tail[close + 1:]
    endpos = _ENDPOS.search(tail)
    raw = match.group(1)
    return AgiReply(200, int(raw) if _INTEGER.match(raw) else None, data,
                    int(endpos.group(1)) if endpos else None, text, raw)
