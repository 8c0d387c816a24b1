"""The tier's own plumbing on the real Asterisk: the shipped configuration loads with
only ports, addresses and secrets changed, the phones register, and a restart keeps
the instance where it was."""

from __future__ import annotations

import asyncio
import re
import tarfile
from pathlib import Path

import pytest

from dialer.testing.asterisk import RealAsterisk
from dialer.testing.build import TARBALL, Build, source_dir
from dialer.testing.render import SHIPPED
from dialer.testing.sounds import duration
from tests.real.conftest import PhoneFactory

pytestmark = pytest.mark.real_asterisk
MODULE_DIRS = {"apps", "bridges", "cdr", "cel", "channels", "codecs", "formats", "funcs",
               "pbx", "res"}


def test_shipped_config_loads_with_only_ports_addresses_and_secrets_changed(
        asterisk: RealAsterisk) -> None:
    etc = asterisk.root / "etc"
    for shipped in SHIPPED.glob("*.conf"):
        ours, theirs = (etc / shipped.name).read_text(), shipped.read_text()
        changed = [(a, b) for a, b in zip(theirs.splitlines(), ours.splitlines(), strict=True)
                   if a != b]
        keys = {a.split("=")[0].strip() for a, _ in changed}
        assert keys <= {"port", "bindaddr", "bindport", "bind", "secret", "password",
                        "username", "DIALER_AGI"}, (shipped.name, keys)
    assert "Asterisk 22.10.1" in asterisk.cli("core show version")
    for module in ("app_amd.so", "res_ari.so", "res_agi.so", "chan_pjsip.so"):
        assert "Running" in asterisk.cli(f"module show like {module}"), module
    assert f"127.0.0.1:{asterisk.ports.http}" in asterisk.cli("http show status")


def test_every_shipped_pjsip_object_loads(asterisk: RealAsterisk) -> None:
    # The stock files left out (no `make samples`) give harmless errors; a pjsip.conf
    # object that fails to load gives "Could not create an object of type ...".
    errors = [ln for ln in asterisk.log_lines("ERROR")
              if "Could not create an object" in ln or "pjsip.conf" in ln]
    assert errors == []
    assert "carrier-identify/carrier" in asterisk.cli("pjsip show identifies").replace(" ", "")
    endpoints = asterisk.cli("pjsip show endpoints")
    assert all(f"Endpoint:  agent{i}" in endpoints for i in range(1, 5))


def test_every_module_named_in_modules_conf_exists_in_asterisk_22(real_build: Build) -> None:
    with tarfile.open(source_dir() / TARBALL) as tar:
        sources = {Path(m).stem + ".so" for m in tar.getnames()
                   if m.endswith(".c") and Path(m).parent.name in MODULE_DIRS}
    named = re.findall(r"^(?:require|noload|load)\s*=\s*(\S+)",
                       (SHIPPED / "modules.conf").read_text(), re.M)
    assert named and set(named) - sources == set()
    built = {p.name for p in real_build.modules.glob("*.so")}
    assert {n for n in named if n in built} >= {"app_amd.so", "res_ari.so", "chan_pjsip.so"}


def test_greetings_last_about_ten_and_twelve_seconds(sounds: Path) -> None:
    assert 9.0 <= duration(sounds / "greeting-4.wav") <= 11.0
    assert 11.0 <= duration(sounds / "greeting-5.wav") <= 13.0


@pytest.mark.timeout(60)
async def test_phones_register_from_their_own_loopback_ports(asterisk: RealAsterisk,
                                                             phones: PhoneFactory) -> None:
    made = await phones("agent1", "agent2")
    for phone in made:
        aor = await asyncio.to_thread(asterisk.cli, f"pjsip show aor {phone.name}")
        where = rf"contact\s+: sip:{phone.name}\S*@127\.0\.0\.1:{phone.sip}$"
        assert re.search(where, aor, re.M), aor


@pytest.mark.timeout(90)
def test_restart_in_place_keeps_ports_and_files(asterisk: RealAsterisk) -> None:
    before = (asterisk.ports, asterisk.conf, asterisk.proc.pid if asterisk.proc else None)
    asterisk.restart()
    assert (asterisk.ports, asterisk.conf) == before[:2]
    assert asterisk.proc is not None and asterisk.proc.pid != before[2]
    assert f"127.0.0.1:{asterisk.ports.http}" in asterisk.cli("http show status")


def test_a_global_set_back_to_empty_is_empty(asterisk: RealAsterisk) -> None:
    """A test's SIM_DTMF must not reach the next test: the reset clears it."""
    asterisk.set_global("SIM_DTMF", "9")
    asterisk.set_global("SIM_DTMF", "")
    shown = [ln.strip() for ln in asterisk.cli("dialplan show globals").splitlines()]
    assert "SIM_DTMF=" in shown, shown
