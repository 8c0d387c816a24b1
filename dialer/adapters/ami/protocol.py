"""AMI framing, sans I/O.

Bytes go in, frozen :class:`Message` objects come out; messages go in, bytes come out.
The same parser serves the engine's client and the simulated Asterisk's server, so
both sides agree on framing by construction.

Framing facts (see the recorded traces): lines end in CRLF, a blank line ends a
message, the server's very first line is a bare banner (``Asterisk Call Manager/11.0.0``)
with no blank line after it, headers keep their order and may repeat (``Variable:``,
``Output:``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

BANNER_PREFIX = "Asterisk Call Manager/"
MAX_MESSAGE_BYTES = 256 * 1024
MAX_LINE_BYTES = 64 * 1024


class AmiProtocolError(ValueError):
    """The peer sent bytes that cannot be AMI (oversized message or line)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message: ordered headers, duplicates kept.

    ``bad_lines`` holds lines that had no ``Key: Value`` shape; a server answers such
    a message with an error rather than guessing.
    """

    headers: tuple[tuple[str, str], ...]
    bad_lines: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, *pairs: tuple[str, str], **kwargs: str) -> Message:
        """Build a message from pairs, then keyword headers (in call order)."""
        return cls(tuple(pairs) + tuple(kwargs.items()))

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of ``key`` (case-insensitive), or ``default``."""
        low = key.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in order (``Variable:``, ``Output:``)."""
        low = key.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def kind(self) -> str:
        """``event``, ``response``, ``action`` or ``banner``/``unknown``."""
        if not self.headers:
            return "unknown"
        first = self.headers[0][0].lower()
        return {"event": "event", "response": "response", "action": "action",
                "_banner": "banner"}.get(first, "unknown")

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def action(self) -> str | None:
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def to_bytes(self) -> bytes:
        """Serialise with CRLF line ends and the terminating blank line."""
        if self.kind == "banner":
            return (self.headers[0][1] + "\r\n").encode()
        body = "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return (body + "\r\n").encode()

    def as_dict(self) -> dict[str, str]:
        """First value per key, original case; for logs and tests only."""
        out: dict[str, str] = {}
        for k, v in self.headers:
            out.setdefault(k, v)
        return out


def encode(headers: Iterable[tuple[str, str]]) -> bytes:
    """Serialise header pairs as one AMI message."""
    return Message(tuple(headers)).to_bytes()


def _split_header(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition(":")
    if not sep or not key or key != key.strip():
        return None
    return key, value[1:] if value.startswith(" ") else value


class Parser:
    """Incremental AMI parser.

    ``expect_banner=True`` (a client) treats the first line as the banner. Feed bytes
    as they arrive; :meth:`feed` returns every complete message. CR is optional on
    input (lenient), always present on output.
    """

    def __init__(self, *, expect_banner: bool = False) -> None:
        self._buf = bytearray()
        self._lines: list[str] = []
        self._size = 0
        self._want_banner = expect_banner

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        return list(self._drain())

    def _drain(self) -> Iterator[Message]:
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE_BYTES:
                    raise AmiProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
                return
            raw = bytes(self._buf[:nl]).rstrip(b"\r")
            del self._buf[: nl + 1]
            msg = self._line(raw.decode("utf-8", errors="replace"))
            if msg is not None:
                yield msg

    def _line(self, line: str) -> Message | None:
        if self._want_banner:
            self._want_banner = False
            if line.startswith(BANNER_PREFIX):
                return Message((("_banner", line),))
        if line == "":
            return self._finish()
        self._size += len(line) + 2
        if self._size > MAX_MESSAGE_BYTES:
            raise AmiProtocolError(f"message longer than {MAX_MESSAGE_BYTES} bytes")
        self._lines.append(line)
        return None

    def _finish(self) -> Message | None:
        if not self._lines:
            return None
        headers: list[tuple[str, str]] = []
        bad: list[str] = []
        for line in self._lines:
            pair = _split_header(line)
            if pair is None:
                bad.append(line)
            else:
                headers.append(pair)
        self._lines = []
        self._size = 0
        return Message(tuple(headers), tuple(bad))

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered but not yet part of a complete message."""
        return len(self._buf) + self._size


def parse_stream(data: bytes, *, expect_banner: bool = True) -> list[Message]:
    """Parse a whole recorded byte stream (tests, trace replay)."""
    return Parser(expect_banner=expect_banner).feed(data)
