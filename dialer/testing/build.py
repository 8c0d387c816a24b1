"""Where a throwaway Asterisk comes from: the build made by
`tests/real/build-asterisk.sh`, and the tools the real-Asterisk tier needs besides
(baresip, espeak-ng and sox).

The build lives in a cache folder keyed by the md5 of the Asterisk tarball, so this
module computes the same key as the script and only looks; it never builds."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SRC = REPO.parent / "shared" / "asterisk" / "src"
DEFAULT_CACHE = Path("/var/cache/dialer-asterisk")
TARBALL = "asterisk-22.10.1.tar.gz"
BUILD_SCRIPT = "tests/real/build-asterisk.sh"
SOUND_TOOLS = {"espeak-ng": "espeak-ng", "sox": "sox", "soxi": "sox"}
TOOLS = {"baresip": "baresip-core", **SOUND_TOOLS}
REQUIRE_ENV = "DIALER_REQUIRE_REAL_ASTERISK"


@dataclass(frozen=True)
class Build:
    """A finished Asterisk build: ``prefix`` holds sbin/asterisk and the modules."""

    prefix: Path
    cache_root: Path

    @property
    def binary(self) -> Path:
        return self.prefix / "sbin" / "asterisk"

    @property
    def modules(self) -> Path:
        return self.prefix / "lib" / "asterisk" / "modules"

    @property
    def data(self) -> Path:
        return self.prefix / "var" / "lib" / "asterisk"


def source_dir() -> Path:
    return Path(os.environ.get("DIALER_ASTERISK_SRC", DEFAULT_SRC))


def cache_root() -> Path:
    return Path(os.environ.get("DIALER_ASTERISK_CACHE", DEFAULT_CACHE))


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_build() -> tuple[Build | None, str]:
    """The finished build, or None and why not."""
    tarball = source_dir() / TARBALL
    if not tarball.is_file():
        return None, f"no {tarball} (set DIALER_ASTERISK_SRC)"
    home = cache_root() / _md5(tarball)
    build = Build(home / "prefix", cache_root())
    if not (home / ".complete").is_file() or not build.binary.is_file():
        return None, f"Asterisk is not built in {home}"
    return build, ""


def missing_tools(tools: dict[str, str] = TOOLS) -> list[str]:
    """Debian packages whose commands (of ``tools``: command -> package) are missing."""
    return sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})


def availability() -> tuple[Build | None, str]:
    """The build when the whole tier can run, else None and one line saying how to
    enable it."""
    build, why = find_build()
    tools = missing_tools()
    if build is not None and not tools:
        return build, ""
    steps = []
    if build is None:
        steps.append(f"{why}: run {BUILD_SCRIPT}")
    if tools:
        steps.append(f"apt-get install {' '.join(tools)}")
    return None, "real-Asterisk tier off: " + "; ".join(steps)


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")
