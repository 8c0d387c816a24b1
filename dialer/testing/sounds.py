"""The sound files the configuration, the dialplan and the campaigns play, made by the
recipe in `asterisk-config/README.md` (espeak-ng and sox), so the real-Asterisk tier also
proves that recipe. They are cached next to the Asterisk build, keyed by the recipe and the
espeak-ng version."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from dialer.testing.render import SHIPPED

RECIPE_INTRO = "They can be generated with"
AGENT_SOURCE = "agent-source"  # what the agents' phones send: 10 minutes of silence


def readme_recipe(readme: Path = SHIPPED / "README.md") -> str:
    """The shell block that follows RECIPE_INTRO in the README."""
    text = readme.read_text()
    start = text.index(RECIPE_INTRO)
    m = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    if m is None:
        raise AssertionError(f"{readme}: no ```sh block after {RECIPE_INTRO!r}")
    return m.group(1)


def _recipe_for(folder: Path, recipe: str) -> str:
    first, _, rest = recipe.partition("\n")
    if not first.startswith("D="):
        raise AssertionError(f"the README recipe must start with D=...: {first!r}")
    return f'D="{folder}"; mkdir -p "$D"\n{rest}'


def _key(recipe: str) -> str:
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                             check=False).stdout
    return hashlib.sha256(f"{recipe}\n{version}\n{AGENT_SOURCE}".encode()).hexdigest()[:16]


def _generate(folder: Path, recipe: str) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", _recipe_for(folder, recipe)],
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise AssertionError(f"README sound recipe failed:\n{done.stderr[-2000:]}")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16",
                    str(folder / f"{AGENT_SOURCE}.wav"), "trim", "0", "600"], check=True)
    return done.stdout


def sound_files(cache: Path) -> Path:
    """The folder of generated sounds (made once per recipe)."""
    recipe = readme_recipe()
    target = cache / "sounds" / _key(recipe)
    if (target / ".complete").is_file():
        return target
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(target.parent, os.W_OK):
        target = Path(tempfile.gettempdir()) / "dialer-sounds" / _key(recipe)
        target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sounds-", dir=target.parent))
    out = _generate(work, recipe)
    (work / ".complete").write_text(out)
    try:
        work.rename(target)
    except OSError:  # another run finished first
        shutil.rmtree(work, ignore_errors=True)
    return target


def duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()
