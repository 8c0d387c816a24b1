"""The real-Asterisk tier is on when Asterisk is built and baresip, espeak-ng and sox
are installed; otherwise this is its one skipped test, saying how to turn it on."""

from __future__ import annotations

import pytest

from tests.real.build import Build

pytestmark = pytest.mark.real_asterisk


def test_real_asterisk_tier_is_available(real_build: Build) -> None:
    assert real_build.binary.is_file()
    assert real_build.modules.is_dir()
