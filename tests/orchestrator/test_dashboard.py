"""The gateway's dashboard at ``/_pywatt/`` with real modules under the embedded
orchestrator: in headless Chromium (Debian's, driven by Playwright) the page lists the
modules, their trees and the slowest endpoints and shows a crash within a second of it; over
HTTP, who may see it (loopback, the token, a clear 401); and what it remembers survives a
crash of the gateway; a page whose connection breaks mid-stream ends only its stream."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

import actors.testing
from pywatt.orchestrator import Manifest, ModuleHandle, ModuleSpec, open_orchestrator

from .helpers import Run, running

HERE = Path(__file__).parent
OBSERVED = str(HERE / "modules" / "observed.py")
PLAIN = str(HERE.parent / "http" / "modules" / "plain_mod.py")
DOCS_IMAGES = HERE.parent.parent / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOKEN = "dashboard-token-0123456789"


def observed(module_id: str) -> ModuleSpec:
    return ModuleSpec.from_command(
        module_id, OBSERVED, secrets=["API_KEY"], env={"OBSERVED_SECRET": "API_KEY"}
    )


def web(module_id: str) -> ModuleSpec:
    return ModuleSpec.from_command(module_id, PLAIN)


@asynccontextmanager
async def two_modules() -> AsyncIterator[Run]:
    async with running(observed("alpha"), web("web"), secrets={"API_KEY": "k1"}) as run:
        for module_id in ("alpha", "web"):
            await run.orch.module(module_id).wait_announced()
        async with httpx.AsyncClient(base_url=run.orch.orchestrator_api) as client:
            for _ in range(5):
                assert (await client.get("/hello")).status_code == 200
                assert (await client.get("/fail")).status_code == 500
        yield run


def browse(base: str, alpha: ModuleHandle, shots: Path) -> float:
    """Open the dashboard in Chromium, check what it lists, kill module alpha and wait for
    the page to show that crash. Returns the seconds from the kill to the crash on the page."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(shots / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(base + "/_pywatt/")
            slow = 30_000  # ms: what only waits for the system to settle
            for module_id in ("alpha", "web"):
                row = page.locator(f"#modules tr[data-module='{module_id}']")
                expect(row.locator(".module-state")).to_have_text("running", timeout=slow)
            expect(page.locator("#connection")).to_have_text("live", timeout=slow)
            worker = page.locator("#trees [data-actor='alpha.worker']")
            expect(worker).to_have_count(1, timeout=slow)
            expect(page.locator("#trees [data-actor='pywatt.hub']")).to_have_count(1, timeout=slow)
            endpoints = page.locator("#endpoints tbody")
            expect(endpoints).to_contain_text("GET /hello", timeout=slow)
            expect(endpoints).to_contain_text("GET /fail", timeout=slow)
            page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

            pid = alpha.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            crash = page.locator("#crashes tr[data-module='alpha']")
            expect(crash).to_contain_text("SIGKILL", timeout=1_000)  # within a second of it
            seen = time.monotonic() - killed
            page.screenshot(path=str(shots / "crash.png"), full_page=True)

            # The supervisor restarts it, and the page follows.
            row = page.locator("#modules tr[data-module='alpha']")
            expect(row.locator(".module-state")).to_have_text("running", timeout=slow)
            expect(row.locator("td").nth(4)).to_have_text("1", timeout=slow)  # restarts
            # An actor crashing inside a module shows with its reason too.
            expect(worker).to_have_count(1, timeout=slow)
            pid = alpha.pid
            assert pid is not None
            os.kill(pid, signal.SIGUSR1)
            expect(page.locator("#crashes")).to_contain_text("Boom: crashed on SIGUSR1",
                                                             timeout=slow)  # fmt: skip
            page.screenshot(path=str(shots / "actor-crash.png"), full_page=True)
            return seen
        finally:
            browser.close()


async def test_the_page_lists_modules_and_shows_a_crash_within_a_second(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (one stat)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/services.sh does)")
    with trio.fail_after(180):
        async with two_modules() as run:
            seen = await trio.to_thread.run_sync(
                browse, run.orch.orchestrator_api, run.orch.module("alpha"), tmp_path
            )
    assert seen < 1.0
    for name in ("dashboard.png", "crash.png", "actor-crash.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    if os.environ.get("PYWATT_DOCS_SCREENSHOTS") == "1":  # refresh the docs' picture
        shutil.copy(tmp_path / "crash.png", DOCS_IMAGES / "dashboard.png")


async def test_loopback_without_a_token_and_what_the_api_answers() -> None:
    with trio.fail_after(60):
        async with two_modules() as run:
            base = run.orch.orchestrator_api
            async with httpx.AsyncClient(base_url=base) as client:
                page = await client.get("/_pywatt/")
                assert page.status_code == 200
                assert page.headers["content-type"].startswith("text/html")
                assert "script-src 'self'" in page.headers["content-security-policy"]
                assert (await client.get("/_pywatt")).headers["location"] == "/_pywatt/"
                script = await client.get("/_pywatt/static/dashboard.js")
                assert script.headers["content-type"].startswith("text/javascript")
                assert "EventSource" in script.text
                state = (await client.get("/_pywatt/api/state")).json()
                assert [m["id"] for m in state["modules"]] == ["alpha", "web"]
                slowest = {(e["module"], e["method"], e["route"]): e for e in state["endpoints"]}
                assert slowest[("web", "GET", "/hello")]["count"] == 5
                assert slowest[("web", "GET", "/fail")]["errors"] == 5
                trees = (await client.get("/_pywatt/api/trees")).json()
                alpha = next(m for m in trees["modules"] if m["id"] == "alpha")
                assert alpha["tree"]["name"] == "system"
                # Refused plainly: other methods, unknown files, a foreign Host (DNS rebinding).
                assert (await client.post("/_pywatt/api/state")).status_code == 405
                missing = await client.get("/_pywatt/static/nothing.js")
                assert missing.status_code == 404
                assert "nothing.js" in missing.json()["error"]
                foreign = await client.get("/_pywatt/", headers={"host": "evil.example"})
                assert foreign.status_code == 403
                for path in ("/_pywatt/api/traces", "/_pywatt/api/traces/" + "a" * 32):
                    foreign = await client.get(path, headers={"host": "evil.example"})
                    assert foreign.status_code == 403
                assert "Host" in foreign.json()["error"]
                # The stream: a state, then trees, as Server-Sent Events.
                async with client.stream("GET", "/_pywatt/api/stream") as stream:
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    kinds: set[str] = set()
                    async for line in stream.aiter_lines():
                        if line.startswith("event: "):
                            kinds.add(line[len("event: ") :])
                        if {"state", "trees"} <= kinds:
                            break
            # A page that goes away ends its stream.
            dashboard = run.orch.dashboard
            assert dashboard is not None
            while dashboard.streams:  # noqa: ASYNC110 (a counter, no event to wait on)
                await trio.sleep(0.02)
            # The dashboard's requests are not counted as the modules' endpoints.
            async with httpx.AsyncClient(base_url=base) as client:
                state = (await client.get("/_pywatt/api/state")).json()
            assert {e["module"] for e in state["endpoints"]} == {"web"}


async def test_a_page_whose_connection_breaks_mid_stream_ends_that_stream_only() -> None:
    # The HTTP server's `send` raises once the page's connection broke (before its reader
    # saw the page go): pages that break so end their own streams quietly, even several at
    # once, and the dashboard serves on. (Driven at the ASGI door: over a real socket the
    # reader usually sees the reset first, and this path is a race to hit.)
    manifest = Manifest(modules=[web("web")], grace=0.5)
    async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
        await orch.module("web").wait_announced()
        dashboard = orch.dashboard
        assert dashboard is not None
        scope = {"type": "http", "method": "GET", "path": "/_pywatt/api/stream",
                 "headers": [(b"host", b"127.0.0.1")], "query_string": b"",
                 "client": ("127.0.0.1", 40000)}  # fmt: skip
        stopping = trio.Event()
        sent: list[int] = []

        async def page(writes_before_break: int) -> None:
            writes = 0

            async def send(message: dict[str, object]) -> None:
                nonlocal writes
                writes += 1
                if writes > writes_before_break:
                    raise trio.BrokenResourceError("the page's connection broke")

            async def receive() -> dict[str, object]:
                await trio.sleep_forever()  # the page never says it went
                raise AssertionError

            sent.append(await dashboard.serve(scope, receive, send, stopping))

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for n in range(6):
                    nursery.start_soon(page, 1 + n % 3)  # the head, then 0-2 messages
            assert sent == [200] * 6
            assert dashboard.streams == 0
            async with httpx.AsyncClient(base_url=orch.orchestrator_api) as client:
                assert (await client.get("/hello")).status_code == 200
                async with client.stream("GET", "/_pywatt/api/stream") as stream:
                    async for line in stream.aiter_lines():
                        if line == "event: state":
                            break


@asynccontextmanager
async def bound_everywhere(token: str | None) -> AsyncIterator[str]:
    environment = {"PYWATT_DASHBOARD_TOKEN": token} if token else {}
    manifest = Manifest(
        modules=[web("web")], gateway_host="0.0.0.0", environment=environment, grace=0.5
    )
    lines: list[object] = []
    async with open_orchestrator(manifest, on_output=lines.append) as orch:
        await orch.module("web").wait_announced()
        yield orch.orchestrator_api.replace("0.0.0.0", "127.0.0.1")
    assert not any(token and token in str(line) for line in lines)


async def test_bound_elsewhere_the_dashboard_needs_its_token() -> None:
    with trio.fail_after(60):
        async with bound_everywhere(None) as base, httpx.AsyncClient(base_url=base) as client:
            refused = await client.get("/_pywatt/")
            assert refused.status_code == 401
            assert "PYWATT_DASHBOARD_TOKEN" in refused.json()["error"]
            assert (await client.get("/hello")).status_code == 200  # the modules still serve

        async with bound_everywhere(TOKEN) as base, httpx.AsyncClient(base_url=base) as client:
            refused = await client.get("/_pywatt/api/state")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "token" in refused.json()["error"]
            wrong = await client.get("/_pywatt/", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert wrong.json()["error"] == "the dashboard's token is wrong"
            bearer = {"authorization": f"Bearer {TOKEN}"}
            assert (await client.get("/_pywatt/api/state", headers=bearer)).status_code == 200
            # The traces, the list and each one, behind the same door.
            assert (await client.get("/_pywatt/api/traces")).status_code == 401
            assert (await client.get("/_pywatt/api/traces/" + "a" * 32)).status_code == 401
            traces = await client.get("/_pywatt/api/traces", headers=bearer)
            assert traces.json()["traces"] == []  # this orchestrator traces nothing
            gone = await client.get("/_pywatt/api/traces/" + "a" * 32, headers=bearer)
            assert gone.status_code == 404
            # ?token= once: the page moves it into a cookie of its own and drops it from the URL.
            first = await client.get("/_pywatt/", params={"token": TOKEN})
            assert first.status_code == 303
            assert first.headers["location"] == "/_pywatt/"
            assert "HttpOnly" in first.headers["set-cookie"]
            assert "Path=/_pywatt" in first.headers["set-cookie"]
            page = await client.get("/_pywatt/")  # the client keeps the cookie
            assert page.status_code == 200
            assert "pywatt dashboard" in page.text
            client.cookies.clear()
            assert (await client.get("/_pywatt/")).status_code == 401


async def test_what_it_remembers_survives_a_crash_of_the_gateway() -> None:
    with trio.fail_after(60):
        async with two_modules() as run:
            orch = run.orch
            alpha = orch.module("alpha")
            assert alpha.pid is not None
            os.kill(alpha.pid, signal.SIGKILL)
            await alpha.wait_until(lambda h: h.restarts >= 1 and h.announce is not None)
            await actors.testing.crash(orch._system, "pywatt.gateway")
            async with httpx.AsyncClient(base_url=orch.orchestrator_api) as client:
                while True:  # the gateway is back by itself
                    try:
                        hello = await client.get("/hello")
                        break
                    except httpx.TransportError:
                        await trio.sleep(0.05)
                assert hello.status_code == 200
                state = (await client.get("/_pywatt/api/state")).json()
            routes = {(e["route"]): e["count"] for e in state["endpoints"]}
            assert routes["/hello"] == 6  # five before the crash, one after
            crashes = [c for c in state["crashes"] if c["module"] == "alpha"]
            assert any("SIGKILL" in c["reason"] for c in crashes)


def browse_with_token(base: str, profile: Path) -> str:
    """Open ``/_pywatt/?token=...`` in Chromium; wait for the live page. Returns its URL."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(f"{base}/_pywatt/?token={TOKEN}")
            row = page.locator("#modules tr[data-module='web']")
            expect(row.locator(".module-state")).to_have_text("running", timeout=30_000)
            expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
            return page.url
        finally:
            browser.close()


async def test_in_chromium_the_token_is_asked_once_and_leaves_the_address(tmp_path: Path) -> None:
    with trio.fail_after(120):
        async with bound_everywhere(TOKEN) as base:
            url = await trio.to_thread.run_sync(browse_with_token, base, tmp_path / "profile")
    assert url == f"{base}/_pywatt/"  # the stream ran on the cookie, the token is not in it
