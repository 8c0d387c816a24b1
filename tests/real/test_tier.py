"""The real-Asterisk tier is on when Asterisk is built and baresip, espeak-ng and sox
are installed; otherwise this is its one skipped test, saying how to turn it on (and a
failure when DIALER_REQUIRE_REAL_ASTERISK=1, as in CI)."""

from __future__ import annotations

import pytest

from dialer.testing.build import REQUIRE_ENV, availability, required

pytestmark = pytest.mark.real_asterisk


def test_real_asterisk_tier_is_available() -> None:
    build, why_off = availability()
    if build is None:
        if required():
            pytest.fail(f"{why_off} ({REQUIRE_ENV} is set)")
        pytest.skip(why_off)
    assert build.binary.is_file() and build.modules.is_dir()
