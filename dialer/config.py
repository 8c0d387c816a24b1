"""The engine's configuration: one YAML file merged over defaults, plus secrets from
the environment, turned into frozen typed objects.

Every key is declared here with its type, default, range and one line of
documentation; `dialer.example.yaml` documents the same keys and a test keeps the two
in step. Campaign definitions have their own file format (`dialer.campaigns`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from dialer.core.errors import ConfigError
from dialer.schema import Located, Seconds, build, load_yaml, load_yaml_file, setting

ENV_SECRETS = {
    "DIALER_DATABASE_URL": ("database", "url"),
    "DIALER_AMI_SECRET": ("ami", "secret"),
    "DIALER_ARI_PASSWORD": ("ari", "password"),
}


@dataclass(frozen=True)
class DatabaseConfig:
    url: str | None = setting(None, doc="PostgreSQL DSN (env DIALER_DATABASE_URL wins); "
                              "unset means a throwaway embedded server (demo only)", secret=True)
    pool_size: int = setting(10, doc="connections in the pool", min=1, max=200)
    write_buffer: int = setting(100_000, doc="attempt writes kept in memory while the "
                                "database is unreachable", min=1000, max=10_000_000)


@dataclass(frozen=True)
class AmiConfig:
    enabled: bool = setting(True, doc="connect to the Asterisk Manager Interface")
    host: str = setting("127.0.0.1", doc="AMI host")
    port: int = setting(5038, doc="AMI TCP port", min=1, max=65535)
    username: str = setting("dialer", doc="manager.conf user")
    secret: str | None = setting(None, doc="manager.conf secret (env DIALER_AMI_SECRET wins)",
                                secret=True)
    ping_interval: Seconds = setting(Seconds(5), doc="seconds between keep-alive pings",
                                     min=0.5, max=300)
    ping_timeout: Seconds = setting(Seconds(3), doc="an unanswered ping forces a reconnect "
                                    "after this long", min=0.5, max=60)
    reconnect_max: Seconds = setting(Seconds(30), doc="longest reconnect back-off",
                                     min=1, max=600)


@dataclass(frozen=True)
class AriConfig:
    enabled: bool = setting(True, doc="connect to the Asterisk REST Interface")
    url: str = setting("http://127.0.0.1:8088", doc="ARI base URL (without /ari)",
                       pattern=r"https?://.+")
    username: str = setting("dialer", doc="ari.conf user")
    password: str | None = setting(None, doc="ari.conf password (env DIALER_ARI_PASSWORD wins)",
                                  secret=True)
    app: str = setting("dialer", doc="Stasis application name", pattern=r"[A-Za-z0-9_-]+")
    heartbeat: Seconds = setting(Seconds(10), doc="WebSocket ping interval", min=1, max=300)


# Host names as resolvers take them (underscores included: container names have them).
_HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                        r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*")


def _check_agi_host(entry: str, path: str) -> None:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        looks_numeric = re.fullmatch(r"[0-9.]+", entry) is not None
        if looks_numeric or _HOST_NAME.fullmatch(entry) is None:
            raise ConfigError(path, "expected an IP address, a network (10.0.0.0/8) or a "
                              f"host name, got {entry!r}") from None


@dataclass(frozen=True)
class AgiConfig:
    host: str = setting("127.0.0.1", doc="FastAGI listen address")
    port: int = setting(4573, doc="FastAGI listen port (0: any free port)", min=0, max=65535)
    max_sessions: int = setting(500, doc="concurrent FastAGI sessions", min=1, max=100_000)
    allowed_hosts: list[str] = setting(
        list, doc="Asterisk hosts answered (IP addresses, networks or host names); any "
        "other peer is closed at once; empty: the hosts of ami.host and ari.url")

    def __post_init__(self) -> None:
        for i, entry in enumerate(self.allowed_hosts):
            _check_agi_host(entry, f"agi.allowed_hosts[{i}]")


@dataclass(frozen=True)
class HttpConfig:
    host: str = setting("127.0.0.1", doc="API, /metrics and wallboard listen address")
    port: int = setting(8080, doc="API, /metrics and wallboard port (0: any free port)",
                        min=0, max=65535)


@dataclass(frozen=True)
class LoggingConfig:
    format: Literal["auto", "json", "console"] = setting(
        "auto", doc="json in production; auto = console on a terminal, json otherwise")
    level: Literal["debug", "info", "warning", "error"] = setting("info", doc="lowest level")


@dataclass(frozen=True)
class ComplianceConfig:
    rules_file: str | None = setting(None, doc="YAML rules table that overrides the "
                                     "packaged one (jurisdictions, hours, caps)")
    staleness: Seconds = setting(Seconds(30), doc="block every call when the live-update "
                                 "feed has been down this long", min=1, max=3600)
    reload_interval: Seconds = setting(Seconds(3600), doc="full background reload of big lists",
                                       min=60, max=86400 * 7)


@dataclass(frozen=True)
class ImportConfig:
    default_region: str = setting("US", doc="region for numbers written without a country "
                                  "code", pattern=r"[A-Z]{2}")


@dataclass(frozen=True)
class ApiToken:
    role: Literal["agent", "supervisor"] = setting(doc="what the token may do")
    sha256: str | None = setting(None, doc="hex sha256 of the token", pattern=r"[0-9a-f]{64}")
    env: str | None = setting(None, doc="environment variable that holds the token",
                              pattern=r"[A-Z_][A-Z0-9_]*")
    agent: str | None = setting(None, doc="agent name (role agent: acts only on itself)")


@dataclass(frozen=True)
class ApiConfig:
    tokens: list[ApiToken] = setting(list, doc="API tokens and their roles")


@dataclass(frozen=True)
class EngineConfig:
    engine_id: str | None = setting(None, doc="name of this engine, unique per database "
                                    "(default: the id an earlier engine on this host used "
                                    "for the same Asterisk, else a new one)",
                                    pattern=r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
    campaigns: list[str] = setting(list, doc="campaigns to run (empty: every active one)")
    lease: Seconds = setting(Seconds(120), doc="lead lease length written on each lease "
                             "(a lease is held while its engine lives)", min=10, max=86400)
    hopper_size: int = setting(200, doc="leads kept leased and ready per campaign",
                               min=1, max=100_000)
    drain_timeout: Seconds = setting(Seconds(60), doc="on SIGTERM, wait this long for live "
                                     "calls to end", min=0, max=3600)
    pacing_interval: Seconds = setting(Seconds(0.25), doc="longest gap between pacer runs",
                                       min=0.05, max=0.25)
    wrapup_max: Seconds = setting(Seconds(120), doc="an agent in wrap-up longer than this "
                                  "is made ready", min=1, max=3600)
    heartbeat_interval: Seconds = setting(Seconds(2), doc="how often the engine tells the "
                                          "database it is alive", min=0.2, max=60)
    heartbeat_timeout: Seconds = setting(Seconds(15), doc="an engine silent this long is "
                                         "dead: others take over its leads and leftovers",
                                         min=1, max=3600)
    reconcile_interval: Seconds = setting(Seconds(10), doc="how often calls, agent phones "
                                          "and bridges are compared with Asterisk's own lists "
                                          "(also after every reconnect)", min=1, max=3600)
    orphan_grace: Seconds = setting(Seconds(120), doc="open attempts of a dead engine whose "
                                    "Asterisk no engine drives are closed as lost after this",
                                    min=0, max=86400)
    phone_grace: Seconds = setting(Seconds(5), doc="an agent whose phone hangs up is logged "
                                   "out after this, unless Asterisk went away meanwhile",
                                   min=0.1, max=60)
    phone_giveup: Seconds = setting(Seconds(120), doc="an agent whose phone cannot be "
                                    "reached this long is logged out", min=5, max=3600)


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = setting(DatabaseConfig, doc="PostgreSQL")
    ami: AmiConfig = setting(AmiConfig, doc="Asterisk Manager Interface")
    ari: AriConfig = setting(AriConfig, doc="Asterisk REST Interface")
    agi: AgiConfig = setting(AgiConfig, doc="FastAGI server (dialplan hooks)")
    http: HttpConfig = setting(HttpConfig, doc="HTTP API, metrics and wallboard")
    logging: LoggingConfig = setting(LoggingConfig, doc="structured logs")
    compliance: ComplianceConfig = setting(ComplianceConfig, doc="compliance filter")
    imports: ImportConfig = setting(ImportConfig, doc="list imports")
    api: ApiConfig = setting(ApiConfig, doc="API authentication")
    engine: EngineConfig = setting(EngineConfig, doc="the call engine")


def agi_allowed_hosts(cfg: Config) -> list[str]:
    """The hosts the FastAGI server answers: ``agi.allowed_hosts``, or when that is
    empty the Asterisk hosts this config names (``ami.host`` and the host of ``ari.url``)."""
    if cfg.agi.allowed_hosts:
        return list(cfg.agi.allowed_hosts)
    named = [cfg.ami.host, urlparse(cfg.ari.url).hostname or ""]
    return list(dict.fromkeys(h.strip("[]") for h in named if h))


def _apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    for var, (section, key) in ENV_SECRETS.items():
        value = env.get(var)
        if value:
            part = dataclasses.replace(getattr(cfg, section), **{key: value})
            cfg = dataclasses.replace(cfg, **{section: part})
    return cfg


def parse_config(text: str, source: str | None = None,
                 env: Mapping[str, str] | None = None) -> Config:
    """Validate YAML text into a :class:`Config`; raises a located ConfigError."""
    located = load_yaml(text, source)
    return _finish(located, env)


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Load a config file (None: defaults plus environment)."""
    if path is None:
        return _apply_env(Config(), os.environ if env is None else env)
    return _finish(load_yaml_file(path), env)


def _finish(located: Located, env: Mapping[str, str] | None) -> Config:
    try:
        cfg = build(Config, located.data)
    except ConfigError as err:
        raise located.locate(err) from None
    return _apply_env(cfg, os.environ if env is None else env)
