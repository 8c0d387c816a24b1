"""A throwaway copy of the shipped `asterisk-config/`, with ONLY ports, bind addresses
and secrets changed, plus the files a test instance needs that a real server keeps in
/etc/asterisk (asterisk.conf with directories in a temporary folder, rtp.conf with this
instance's RTP range, logger.conf with a full log).

Every change names its file, section and key and fails loudly when the shipped file no
longer has that key, so the copy never silently drifts from what is shipped."""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dialer.testing.build import REPO, Build

SHIPPED = REPO / "asterisk-config"
AGENTS = tuple(f"agent{i}" for i in range(1, 5))
_HEAD = re.compile(r"^\[([^\]]+)\]")


@dataclass(frozen=True)
class Ports:
    ami: int
    http: int
    sip: int
    agi: int
    rtp_start: int
    rtp_end: int


@dataclass(frozen=True)
class Secrets:
    ami: str = field(default_factory=lambda: secrets.token_hex(16))
    ari: str = field(default_factory=lambda: secrets.token_hex(16))
    agents: dict[str, str] = field(
        default_factory=lambda: {a: secrets.token_hex(12) for a in AGENTS})
    carrier: str = field(default_factory=lambda: secrets.token_hex(12))


def set_key(text: str, section: str, key: str, value: str, where: str) -> str:
    """Replace the value of ``key`` in every ``[section]`` (the comment is kept)."""
    out, current, hits = [], "", 0
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=>?\s*)([^;]*?)(\s*(;.*)?)$")
    for line in text.splitlines(keepends=True):
        head = _HEAD.match(line)
        current = head.group(1) if head else current
        m = pattern.match(line.rstrip("\n"))
        if current == section and m and not line.lstrip().startswith(";"):
            line, hits = f"{m.group(1)}{value}{m.group(3)}\n", hits + 1
        out.append(line)
    if not hits:
        raise AssertionError(f"{where}: no `{key}` in [{section}] to set")
    return "".join(out)


def _edit(path: Path, changes: list[tuple[str, str, str]]) -> None:
    text = path.read_text()
    for section, key, value in changes:
        text = set_key(text, section, key, value, path.name)
    path.write_text(text)


def _shipped_changes(ports: Ports, keys: Secrets) -> dict[str, list[tuple[str, str, str]]]:
    agent_passwords = [(a, "password", keys.agents[a]) for a in AGENTS]
    return {
        "manager.conf": [("general", "port", str(ports.ami)),
                         ("general", "bindaddr", "127.0.0.1"), ("dialer", "secret", keys.ami)],
        "http.conf": [("general", "bindaddr", "127.0.0.1"),
                      ("general", "bindport", str(ports.http))],
        "ari.conf": [("dialer", "password", keys.ari)],
        "pjsip.conf": [("transport-udp", "bind", f"127.0.0.1:{ports.sip}"),
                       *agent_passwords, ("carrier", "username", "carrier"),
                       ("carrier", "password", keys.carrier)],
        "extensions.conf": [("globals", "DIALER_AGI", f"127.0.0.1:{ports.agi}")],
    }


def _asterisk_conf(build: Build, root: Path) -> str:
    dirs = {"astcachedir": root / "cache", "astetcdir": root / "etc",
            "astmoddir": build.modules, "astvarlibdir": root / "lib", "astdbdir": root / "lib",
            "astkeydir": root / "lib", "astdatadir": root / "data",
            "astagidir": root / "agi-bin", "astspooldir": root / "spool",
            "astrundir": root / "run", "astlogdir": root / "log",
            "astsbindir": build.prefix / "sbin"}
    lines = ["[directories]", *(f"{k} => {v}" for k, v in dirs.items()),
             "", "[options]", "verbose = 3", "debug = 0", "nocolor = yes",
             "transmit_silence = no", "hideconnect = yes", f"systemname = dialer-test-{root.name}"]
    return "\n".join(lines) + "\n"


LOGGER_CONF = """\
[general]
dateformat = %F %T.%3q
[logfiles]
full => notice,warning,error,verbose(3),dtmf
"""


def render(build: Build, root: Path, ports: Ports, keys: Secrets, sounds: Path) -> Path:
    """Write the instance's files under ``root``; return the asterisk.conf path."""
    etc = root / "etc"
    shutil.copytree(SHIPPED, etc, ignore=shutil.ignore_patterns("*.md"))
    for name, changes in _shipped_changes(ports, keys).items():
        _edit(etc / name, changes)
    (etc / "rtp.conf").write_text(
        f"[general]\nrtpstart = {ports.rtp_start}\nrtpend = {ports.rtp_end}\n")
    (etc / "logger.conf").write_text(LOGGER_CONF)
    for sub in ("cache", "lib/keys", "agi-bin", "spool", "run", "log", "data/sounds/en"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for item in build.data.iterdir():
        if item.name != "sounds":
            (root / "data" / item.name).symlink_to(item)
    (root / "data" / "sounds" / "en" / "dialer").symlink_to(sounds)
    conf = etc / "asterisk.conf"
    conf.write_text(_asterisk_conf(build, root))
    return conf
