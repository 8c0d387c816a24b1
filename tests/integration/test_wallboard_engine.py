"""The wallboard in headless Chromium against a running engine and the simulated
Asterisk: the numbers change as calls are placed, and a screenshot is saved to
artifacts/wallboard-engine.png (skips without chromium)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.browser import Browser, find_chromium
from tests.integration.engine_stack import SUPERVISOR_TOKEN, engine_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
NUMBERS = [f"2125550{i:03d}" for i in range(100, 200)]
pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")

SHOWN = """(() => {
  const num = (id) => Number(document.getElementById(id).textContent.replaceAll(",", ""));
  return {calls15m: num("calls-15m"), inFlight: num("calls-in-flight"),
          talking: num("agents-talking"), ready: num("agents-ready"),
          campaigns: [...document.querySelectorAll("[data-campaign]")].map(
              (c) => c.dataset.campaign),
          conn: document.getElementById("conn").dataset.state,
          updates: window.wallboard.updates};
})()"""


@pytest.mark.timeout(120)
async def test_wallboard_follows_a_running_engine(db_dsn, tmp_path) -> None:
    async with engine_stack(db_dsn, tmp_path, NUMBERS, agents=3, mode="predictive") as run, \
            Browser.launch(size=(1600, 1000)) as browser:
        page = await browser.page()
        await page.set_viewport(1600, 1000)
        await page.goto(f"{run.url}/wallboard/#token={SUPERVISOR_TOKEN}")
        await page.wait_for(f"({SHOWN}).conn === 'live' && ({SHOWN}).calls15m > 0", timeout=30)
        first = await page.evaluate(SHOWN)
        await page.wait_for(f"({SHOWN}).calls15m > {first['calls15m']}", timeout=30)
        latest = await page.evaluate(SHOWN)
        assert latest["campaigns"] == ["test"]
        assert latest["updates"] > first["updates"]
        assert latest["talking"] + latest["ready"] <= 3
        assert not [line for line in page.console if "rror" in line]
        await asyncio.sleep(0.8)
        await page.screenshot(ARTIFACTS / "wallboard-engine.png")
        await page.close()
