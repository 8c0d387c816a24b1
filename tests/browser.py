"""Drive headless Chromium over the DevTools protocol with aiohttp only.

    async with Browser.launch() as browser:
        page = await browser.page()
        await page.goto("http://127.0.0.1:8080/wallboard/")
        await page.wait_for("window.wallboard.updates > 0")
        text = await page.evaluate("document.title")
        await page.screenshot(Path("artifacts/wallboard.png"))

The browser runs in its own session (process group) with a throwaway profile; leaving the
context ends that process group and removes the profile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0")


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class DevToolsError(RuntimeError):
    pass


class Page:
    """One page target: commands by id, events in a queue, reader task owned here."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.console: list[str] = []
        self._reader = asyncio.create_task(self._read(), name="devtools-reader")

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.json()
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
            elif "method" in data:
                self._note(data)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DevToolsError("DevTools socket closed"))

    def _note(self, event: dict[str, Any]) -> None:
        if event["method"] == "Runtime.consoleAPICalled":
            args = event["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description"))) for a in args))
        if event["method"] == "Runtime.exceptionThrown":
            self.console.append(str(event["params"]["exceptionDetails"]))
        self.events.put_nowait(event)

    async def send(self, method: str, timeout: float = 15.0, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_json({"id": ident, "method": method, "params": params})
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return reply.get("result", {})  # type: ignore[no-any-return]

    async def goto(self, url: str, timeout: float = 15.0) -> None:
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired", timeout)

    async def wait_event(self, method: str, timeout: float = 15.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if event["method"] == method:
                    return event

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0,
                       poll: float = 0.05) -> Any:
        """Poll until ``expression`` is truthy; returns its value."""
        async with asyncio.timeout(timeout):
            while not (value := await self.evaluate(expression)):
                await asyncio.sleep(poll)
        return value

    async def set_viewport(self, width: int, height: int) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Browser:
    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self._session, self.port = session, port

    @classmethod
    @asynccontextmanager
    async def launch(cls, executable: str | None = None,
                     size: tuple[int, int] = (1600, 1000)) -> AsyncIterator[Browser]:
        binary = executable or find_chromium()
        if binary is None:
            raise FileNotFoundError("chromium is not installed")
        with tempfile.TemporaryDirectory(prefix="dialer-chromium-") as profile:
            proc = await asyncio.create_subprocess_exec(
                binary, *FLAGS, f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}", "about:blank",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True)
            try:
                port = await _devtools_port(Path(profile), proc)
                async with aiohttp.ClientSession() as session:
                    yield cls(session, port)
            finally:
                await _stop(proc)

    async def page(self) -> Page:
        async with self._session.get(f"http://127.0.0.1:{self.port}/json/list") as resp:
            targets = await resp.json()
        target = next(t for t in targets if t.get("type") == "page")
        ws = await self._session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        return Page(ws)


async def _devtools_port(profile: Path, proc: asyncio.subprocess.Process,
                         timeout: float = 20.0) -> int:
    marker = profile / "DevToolsActivePort"
    async with asyncio.timeout(timeout):
        while not (marker.exists() and marker.read_text().strip()):
            if proc.returncode is not None:
                raise RuntimeError(f"chromium exited with {proc.returncode}")
            await asyncio.sleep(0.05)
    return int(marker.read_text().splitlines()[0])


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
