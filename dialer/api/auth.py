"""Bearer tokens with roles.

A supervisor token acts on campaigns, agents and everything else. An agent token is tied
to one agent name and acts only on that agent. Only the sha256 of each token is kept in
memory, and a presented token is compared against every stored digest in constant time.

Browsers cannot set headers on a WebSocket, so a token may also come as the subprotocol
``bearer.<token>`` (``new WebSocket(url, ["dialer.v1", "bearer." + token])``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from aiohttp import web

from dialer.core.errors import ConfigError

Role = Literal["agent", "supervisor"]
ROLES: tuple[Role, ...] = ("agent", "supervisor")
WS_PROTOCOL = "dialer.v1"
WS_TOKEN_PREFIX = "bearer."


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, and for an agent token the agent's name."""

    role: Role
    agent: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def may_act_on_agent(self, name: str) -> bool:
        return self.is_supervisor or self.agent == name


class TokenSpec(Protocol):
    """The shape of one ``api.tokens`` entry of the engine's config."""

    @property
    def role(self) -> str: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def env(self) -> str | None: ...
    @property
    def agent(self) -> str | None: ...


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenAuth:
    def __init__(self, grants: Iterable[tuple[bytes, Principal]]) -> None:
        self._grants = tuple(grants)
        for raw, _ in self._grants:
            if len(raw) != hashlib.sha256().digest_size:
                raise ValueError("token digests must be raw sha256 digests")

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, Principal]) -> TokenAuth:
        """From plain tokens (tests, generated setups); only their digests are kept."""
        return cls((digest(token), who) for token, who in tokens.items())

    @classmethod
    def from_config(cls, specs: Sequence[TokenSpec], env: Mapping[str, str],
                    path: str = "api.tokens") -> TokenAuth:
        """From config entries holding either ``sha256`` or the name of an env variable."""
        return cls(_grant(spec, env, f"{path}[{i}]") for i, spec in enumerate(specs))

    def __len__(self) -> int:
        return len(self._grants)

    def authenticate(self, token: str) -> Principal | None:
        """The principal for ``token``, or None; every stored digest is compared."""
        presented = digest(token)
        found: Principal | None = None
        for raw, who in self._grants:
            if hmac.compare_digest(raw, presented):
                found = who
        return found


def _grant(spec: TokenSpec, env: Mapping[str, str], path: str) -> tuple[bytes, Principal]:
    if spec.role not in ROLES:
        raise ConfigError(f"{path}.role", f"expected one of {', '.join(ROLES)}")
    if spec.role == "agent" and not spec.agent:
        raise ConfigError(f"{path}.agent", "an agent token must name its agent")
    return _spec_digest(spec, env, path), Principal(spec.role, spec.agent)


def _spec_digest(spec: TokenSpec, env: Mapping[str, str], path: str) -> bytes:
    if bool(spec.sha256) == bool(spec.env):
        raise ConfigError(path, "give exactly one of sha256 or env")
    if spec.sha256:
        try:
            raw = bytes.fromhex(spec.sha256)
        except ValueError:
            raw = b""
        if len(raw) != hashlib.sha256().digest_size:
            raise ConfigError(f"{path}.sha256", "expected 64 hex digits")
        return raw
    value = env.get(spec.env or "")
    if not value:
        raise ConfigError(f"{path}.env", f"environment variable {spec.env} is not set")
    return digest(value)


def presented_token(request: web.Request) -> str | None:
    """The bearer token from the Authorization header or the WebSocket subprotocol."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else ""
    for proto in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        proto = proto.strip()
        if proto.startswith(WS_TOKEN_PREFIX):
            return proto[len(WS_TOKEN_PREFIX):]
    return None
