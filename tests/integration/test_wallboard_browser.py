"""The wallboard in headless Chromium: it connects, shows the live numbers, follows
their changes, and leaves a screenshot in artifacts/ (skips without chromium)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dialer.api.app import create_app, serving
from tests.browser import Browser, Page, find_chromium
from tests.fake_port import ALICE_TOKEN, FakeControl, make_auth

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")

SHOWN = """(() => {
  const text = (id) => document.getElementById(id).textContent;
  const num = (id) => Number(text(id).replaceAll(",", ""));
  const card = (name) => document.querySelector(`[data-campaign="${name}"]`);
  const sales = card("sales");
  return {
    inFlight: num("calls-in-flight"), calls15m: num("calls-15m"), blocks: num("blocks-total"),
    talking: num("agents-talking"), ready: num("agents-ready"), paused: num("agents-paused"),
    wrapUp: num("agents-wrap_up"),
    dialLevel: sales && Number(sales.querySelector(".dial-level").textContent),
    gauge: sales && sales.querySelector(".gauge-value").textContent,
    level: sales && sales.querySelector(".gauge").dataset.level,
    campaigns: [...document.querySelectorAll("[data-campaign]")].map((c) => c.dataset.campaign),
    outcomeRows: document.querySelectorAll("#outcomes .bar-row").length,
    blockRows: document.querySelectorAll("#blocks .bar-row").length,
    conn: document.getElementById("conn").dataset.state,
    updates: window.wallboard.updates,
  };
})()"""


@pytest.fixture
def control() -> FakeControl:
    control = FakeControl(seed=11)
    for campaign in control.campaigns.values():
        campaign.state = "active"
    for name, agent in control.roster.items():
        agent.state, agent.campaign = "ready", "sales" if name != "dave" else "renewals"
    return control


@pytest.fixture
async def base_url(control: FakeControl) -> AsyncIterator[str]:
    app = create_app(control, make_auth(), status_interval=0.1)
    async with serving(app, "127.0.0.1", 0) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with Browser.launch(size=(1600, 1000)) as browser:
        page = await browser.page()
        await page.set_viewport(1600, 1000)
        yield page
        await page.close()


def expected(control: FakeControl) -> dict[str, object]:
    sales = control.campaigns["sales"]
    agents = [a.state for a in control.roster.values()]
    return {
        "inFlight": sum(c.in_flight for c in control.campaigns.values()),
        "calls15m": sum(sum(c.outcomes.values()) for c in control.campaigns.values()),
        "blocks": sum(control.blocks.values()),
        "talking": agents.count("talking"), "ready": agents.count("ready"),
        "paused": agents.count("paused"), "wrapUp": agents.count("wrap_up"),
        "dialLevel": sales.dial_level,
        "gauge": f"{100 * sales.abandoned / sales.live_answers:.2f}%",
    }


async def shown_after(page: Page, control: FakeControl) -> dict[str, Any]:
    """Wait until the page shows the fake engine's current numbers, then return them."""
    want = expected(control)
    await page.wait_for(
        f"(() => {{ const s = {SHOWN}; const w = {want!r}; "
        "return Object.keys(w).every((k) => s[k] === w[k]); })()".replace("'", '"'),
        timeout=10)
    return await page.evaluate(SHOWN)  # type: ignore[no-any-return]


async def test_wallboard_shows_live_numbers_as_they_change(
        base_url: str, page: Page, control: FakeControl) -> None:
    control.tick()
    await page.goto(f"{base_url}/wallboard/#token={ALICE_TOKEN}")
    first = await shown_after(page, control)
    assert first["conn"] == "live"
    assert first["campaigns"] == ["sales", "renewals"]
    assert first["outcomeRows"] >= 3 and first["blockRows"] == 1
    for _ in range(3):
        control.tick()
        latest = await shown_after(page, control)
    assert latest["calls15m"] > first["calls15m"]
    assert latest["blocks"] > first["blocks"]
    assert latest["updates"] > first["updates"]
    assert not [line for line in page.console if "rror" in line]
    await asyncio.sleep(0.8)  # let the gauges finish their transition
    await page.screenshot(ARTIFACTS / "wallboard.png")


async def test_abandonment_gauge_turns_red_over_target(
        base_url: str, page: Page, control: FakeControl) -> None:
    sales = control.campaigns["sales"]
    sales.live_answers, sales.abandoned = 1000, 20
    await page.goto(f"{base_url}/wallboard/#token={ALICE_TOKEN}")
    assert (await shown_after(page, control))["level"] == "ok"
    sales.abandoned = 27
    assert (await shown_after(page, control))["level"] == "near"
    sales.abandoned = 31
    shown = await shown_after(page, control)
    assert (shown["level"], shown["gauge"]) == ("over", "3.10%")
    await asyncio.sleep(0.8)
    await page.screenshot(ARTIFACTS / "wallboard-over-target.png")


async def test_wallboard_without_a_token_asks_for_one_and_a_bad_token_cannot_connect(
        base_url: str, page: Page) -> None:
    await page.goto(f"{base_url}/wallboard/")
    assert await page.wait_for("!document.getElementById('login').hidden")
    await page.evaluate("document.getElementById('token-input').value = 'wrong-token'")
    await page.evaluate("document.querySelector('#login button').click()")
    text = await page.wait_for(
        "document.getElementById('conn-text').textContent.includes('cannot connect') && "
        "document.getElementById('conn-text').textContent")
    assert "check the token" in text
    assert await page.evaluate("window.wallboard.updates") == 0
