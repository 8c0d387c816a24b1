"""Fixtures of the real-Asterisk tier: one throwaway Asterisk per test session (built by
`tests/real/build-asterisk.sh`), baresip phones as agents, and independent AMI and ARI
witnesses.

Without the build or the tools, only `test_tier.py` is collected: it skips with one
line saying how to enable the tier (or fails when DIALER_REQUIRE_REAL_ASTERISK=1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from dialer.testing.asterisk import RealAsterisk
from dialer.testing.build import Build, availability, required
from dialer.testing.sounds import sound_files
from tests.real.observer import AmiWitness, AriWitness
from tests.real.phones import Phone

BUILD, WHY_OFF = availability()
if BUILD is None:
    collect_ignore_glob = ["test_real_*.py"]

# The carrier rings 2 s instead of 2-10 s (its SIM_RING variable, read as a global):
# the outcome is the same, the tier is faster.
DEFAULT_GLOBALS = {"SIM_RING": "2", "SIM_TALK": "", "SIM_DTMF": "", "SIM_DTMF_DELAY": ""}


SUMMARY = "real asterisk"  # test_real_summary.py's lines, shown at the end of the run
# (by the terminal summary of tests/conftest.py)


class SummaryLines:
    """Lines kept with the test's report (so they reach the end of the run even from a
    parallel worker)."""

    def __init__(self, record: Callable[[str, object], None]) -> None:
        self.record = record

    def append(self, line: str) -> None:
        self.record(SUMMARY, line)


@pytest.fixture
def summary_lines(record_property: Callable[[str, object], None]) -> SummaryLines:
    return SummaryLines(record_property)


@pytest.fixture(scope="session")
def real_build() -> Build:
    if BUILD is None:
        if required():
            pytest.fail(f"{WHY_OFF} (DIALER_REQUIRE_REAL_ASTERISK is set)")
        pytest.skip(WHY_OFF)
    return BUILD


@pytest.fixture(scope="session")
def sounds(real_build: Build) -> Path:
    return sound_files(real_build.cache_root)


@pytest.fixture(scope="session")
def asterisk_session(real_build: Build, sounds: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAsterisk]:
    ast = RealAsterisk(real_build, tmp_path_factory.mktemp("ast"), sounds)
    try:
        ast.start()
        yield ast
    finally:
        ast.stop()


def _reset(ast: RealAsterisk) -> None:
    if not ast.running:
        ast.start()
    ast.hangup_all()
    deadline = time.monotonic() + 10
    while ast.channel_count() and time.monotonic() < deadline:
        time.sleep(0.1)
    for name, value in DEFAULT_GLOBALS.items():
        ast.set_global(name, value)


@pytest.fixture
def asterisk(asterisk_session: RealAsterisk) -> Iterator[RealAsterisk]:
    """The session's Asterisk, running, with no channels and the default globals."""
    _reset(asterisk_session)
    yield asterisk_session
    _reset(asterisk_session)


PhoneFactory = Callable[..., Awaitable[list[Phone]]]


async def _registered(ast: RealAsterisk, phone: Phone, timeout: float = 10.0) -> None:
    """Until Asterisk has this phone's contact (not one left by an earlier phone)."""
    where = f"@127.0.0.1:{phone.sip}"
    async with asyncio.timeout(timeout):
        while where not in await asyncio.to_thread(ast.cli, f"pjsip show aor {phone.name}"):
            await asyncio.sleep(0.1)


@pytest.fixture
async def phones(asterisk: RealAsterisk, sounds: Path, tmp_path: Path
                 ) -> AsyncIterator[PhoneFactory]:
    """``await phones("agent1", ...)``: baresip phones registered as those agents."""
    started: list[Phone] = []

    async def make(*names: str) -> list[Phone]:
        made = [Phone(n, asterisk.keys.agents[n], f"127.0.0.1:{asterisk.ports.sip}",
                      tmp_path / f"phone-{n}", sounds / "agent-source.wav") for n in names]
        for phone in made:
            started.append(phone)
            phone.start()
        for phone in made:
            await phone.connect()
            await _registered(asterisk, phone)
        return made

    try:
        yield make
    finally:
        for phone in started:
            await phone.close()
            phone.stop()


@pytest.fixture
async def ami_witness(asterisk: RealAsterisk) -> AsyncIterator[AmiWitness]:
    async with AmiWitness("127.0.0.1", asterisk.ports.ami, "dialer",
                          asterisk.keys.ami) as witness:
        yield witness


@pytest.fixture
async def ari_witness(asterisk: RealAsterisk) -> AsyncIterator[AriWitness]:
    async with AriWitness(asterisk.ari_url, "dialer", asterisk.keys.ari) as witness:
        yield witness
