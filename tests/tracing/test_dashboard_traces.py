"""Recent traces in the orchestrator's dashboard, from real processes: a request through the
gateway (the embedded orchestrator, in this process, traced by the test's SDK provider) to
module ``front``, which asks module ``back``, which queries PostgreSQL. Both modules are
processes with ``OTEL_TRACES_EXPORTER=dashboard``: their spans reach the orchestrator only
as ``spans`` lines. The JSON endpoint shows one trace, correctly parented; headless Chromium
opens the page, clicks the trace and sees its waterfall; the collector of the orchestrator's
own spans crashes mid-traffic and traces keep coming."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from opentelemetry.sdk.trace import TracerProvider

import actors.testing
import pywatt.tracing
from pywatt.orchestrator import Manifest, ModuleSpec, Orchestrator, open_orchestrator
from pywatt.orchestrator.dashboard import COLLECTOR

from ..orchestrator.test_cli import background
from ..orchestrator.test_dashboard import CHROMIUM, CHROMIUM_ARGS, DOCS_IMAGES

MODULES = os.path.join(os.path.dirname(__file__), "modules")
OVERFLOW = 99_999_999_999  # past PostgreSQL's integer: the query fails, the trace has errors


@pytest.fixture
def traced() -> Iterator[TracerProvider]:
    """This process (the orchestrator's) traced by an SDK provider of the test's own, with no
    exporter: its spans reach the dashboard only."""
    provider = TracerProvider()
    assert pywatt.tracing.refresh(provider)
    try:
        yield provider
    finally:
        assert not pywatt.tracing.refresh()


@asynccontextmanager
async def traced_modules(**env: str) -> AsyncIterator[Orchestrator]:
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pytest.fail("DATABASE_URL is not set: run with .ci/with-services.sh (or `just test`)")
    env = {"OTEL_TRACES_EXPORTER": "dashboard", "DATABASE_URL": database_url, **env}
    manifest = Manifest(
        modules=(
            ModuleSpec.from_command("back", os.path.join(MODULES, "back.py"), env=env),
            ModuleSpec.from_command("front", os.path.join(MODULES, "front.py"), env=env),
        ),
        grace=2.0,
        term_grace=1.0,
    )
    async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
        for module in ("back", "front"):
            await orch.module(module).wait_announced()
        await orch.wait_channels("front")
        await orch.wait_channels("back")
        yield orch


async def _order(client: httpx.AsyncClient, number: int) -> httpx.Response:
    return await client.get(f"/order/{number}")


async def _wait_trace(
    client: httpx.AsyncClient, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first trace (full, from the JSON endpoint) for which ``ready`` holds."""
    while True:
        listing = (await client.get("/_pywatt/api/traces")).json()
        for row in listing["traces"]:
            trace = (await client.get(f"/_pywatt/api/traces/{row['trace_id']}")).json()
            if ready(trace):
                return trace
        await trio.sleep(0.05)


def _names(trace: dict[str, Any]) -> set[tuple[str | None, str]]:
    return {(span["module"], span["name"]) for span in trace["spans"]}


WHOLE = {
    (None, "GET front"),
    ("front", "GET /order/{number}"),
    ("front", "back/lookup"),
    ("back", "back/lookup"),
    ("back", "SELECT"),
}


async def test_one_request_through_two_modules_is_one_parented_trace(
    traced: TracerProvider,
) -> None:
    with trio.fail_after(90):
        async with (
            traced_modules() as orch,
            httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client,
        ):
            reply = await _order(client, 4242)
            assert reply.status_code == 200, reply.text
            trace = await _wait_trace(client, lambda t: _names(t) >= WHOLE)
            listing = (await client.get("/_pywatt/api/traces")).json()
    assert len(listing["traces"]) == 1
    summary = listing["traces"][0]
    assert summary["trace_id"] == trace["trace_id"]
    assert summary["root"] == "GET front"
    assert summary["modules"] == ["back", "front"]
    assert summary["module_count"] == 2
    assert summary["error"] is False
    assert summary["span_count"] == len(WHOLE)
    rows = trace["spans"]
    # Waterfall order: each span right after its parent, one level deeper.
    assert [(r["module"], r["name"], r["depth"]) for r in rows] == [
        (None, "GET front", 0),
        ("front", "GET /order/{number}", 1),
        ("front", "back/lookup", 2),
        ("back", "back/lookup", 3),
        ("back", "SELECT", 4),
    ]
    for parent, child in itertools.pairwise(rows):
        assert child["parent_id"] == parent["span_id"]
        assert child["trace_id"] == trace["trace_id"]
        # A child starts no earlier than its parent (one clock: the machine's).
        assert child["offset_ms"] >= parent["offset_ms"] - 1.0
    assert rows[0]["parent_id"] is None
    assert rows[0]["offset_ms"] == 0
    assert trace["duration_ms"] >= rows[0]["duration_ms"] > 0
    # Who sent each span: the orchestrator knows, whatever a span says of itself.
    assert [r["source"] for r in rows] == ["orchestrator", "front", "front", "back", "back"]
    assert [r["kind"] for r in rows] == ["server", "server", "client", "server", "client"]
    assert rows[3]["actor"] is None  # a function served it, no actor of the user's
    assert rows[4]["actor"] == rows[4]["attributes"]["pywatt.actor.name"]  # the database's
    assert rows[4]["actor"]
    assert rows[4]["attributes"]["db.query.text"] == "SELECT CAST(? AS integer) * 2 AS doubled"
    assert all(r["status"] != "error" for r in rows)


async def test_a_failed_request_is_a_trace_with_its_error_spans_marked(
    traced: TracerProvider,
) -> None:
    with trio.fail_after(90):
        async with (
            traced_modules() as orch,
            httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client,
        ):
            reply = await _order(client, OVERFLOW)
            assert reply.status_code == 500, reply.text
            trace = await _wait_trace(client, lambda t: _names(t) >= WHOLE)
    assert trace["error"] is True
    failed = {(r["module"], r["name"]) for r in trace["spans"] if r["status"] == "error"}
    assert ("back", "SELECT") in failed
    assert ("front", "GET /order/{number}") in failed  # a 500
    query = next(r for r in trace["spans"] if r["name"] == "SELECT")
    assert "out of range" in query["status_message"]


def browse(base: str, shots: Path) -> dict[str, Any]:
    """Open the dashboard, click the failed trace and check its waterfall; screenshots in
    ``shots``. Returns what the page showed of the bars."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(shots / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(base + "/_pywatt/")
            slow = 30_000  # ms: what only waits for the system to settle
            rows = page.locator("#traces tbody tr")
            expect(rows).to_have_count(2, timeout=slow)
            failed = page.locator("#traces tbody tr", has_text="error")
            expect(failed).to_have_count(1)
            expect(failed.locator("td").nth(1)).to_have_text("GET front")
            expect(failed.locator("td").nth(3)).to_have_text("2")  # modules
            page.screenshot(path=str(shots / "traces.png"), full_page=True)
            failed.click()
            bars = page.locator("#waterfall .wf-row")
            expect(bars).to_have_count(5, timeout=slow)
            expect(page.locator("#waterfall .wf-row.wf-error")).to_have_count(5)  # all failed
            section = page.locator("section", has=page.locator("#waterfall"))
            section.screenshot(path=str(shots / "waterfall.png"))
            page.screenshot(path=str(shots / "page.png"), full_page=True)
            return {
                "depths": [int(d) for d in bars.evaluate_all("r => r.map(e => e.dataset.depth)")],
                "modules": bars.evaluate_all("r => r.map(e => e.dataset.module)"),
                "labels": bars.locator(".wf-label").all_inner_texts(),
                "boxes": [bar.bounding_box() for bar in bars.locator(".wf-bar").all()],
                "indents": bars.locator(".wf-label").evaluate_all(
                    "r => r.map(e => parseFloat(getComputedStyle(e).paddingLeft))"
                ),
            }
        finally:
            browser.close()


async def test_the_page_lists_traces_and_draws_a_waterfall(
    traced: TracerProvider, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (one stat)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/services.sh does)")
    with trio.fail_after(180):
        async with (
            traced_modules() as orch,
            httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client,
        ):
            assert (await _order(client, 21)).status_code == 200
            assert (await _order(client, OVERFLOW)).status_code == 500
            for _ in range(2):  # both traces whole before the page looks
                await _wait_trace(client, lambda t: _names(t) >= WHOLE and t["error"])
                await _wait_trace(client, lambda t: _names(t) >= WHOLE and not t["error"])
            seen = await trio.to_thread.run_sync(browse, orch.orchestrator_api, tmp_path)
    assert seen["depths"] == [0, 1, 2, 3, 4]
    assert seen["modules"] == ["", "front", "front", "back", "back"]
    assert seen["labels"][4].startswith("SELECT")
    assert " back · " in seen["labels"][4]  # the module and the database's actor
    indents = seen["indents"]
    assert indents == sorted(indents)  # indented by parent
    assert indents[0] < indents[4]
    boxes = seen["boxes"]
    assert all(box is not None and box["width"] >= 1 for box in boxes)
    root, query = boxes[0], boxes[4]
    assert root["x"] <= query["x"]  # the query starts later than the gateway's hop...
    assert query["x"] + query["width"] <= root["x"] + root["width"] + 1  # ...and ends in it
    for name in ("traces.png", "waterfall.png", "page.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    if os.environ.get("PYWATT_DOCS_SCREENSHOTS") == "1":  # refresh the docs' picture
        shutil.copy(tmp_path / "waterfall.png", DOCS_IMAGES / "dashboard-waterfall.png")


async def test_traces_keep_coming_after_the_collector_crashes(traced: TracerProvider) -> None:
    """The collector of the orchestrator's own spans crashes between requests: its buffer
    and the ring live outside it, so the next traces are whole again."""
    with trio.fail_after(120):
        async with (
            traced_modules() as orch,
            httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client,
        ):
            async with trio.open_nursery() as nursery:

                async def traffic() -> None:
                    for number in range(1, 40):
                        assert (await _order(client, number)).status_code == 200

                nursery.start_soon(traffic)
                await _wait_trace(client, lambda t: _names(t) >= WHOLE)
                await actors.testing.crash(orch._system, COLLECTOR)
            whole = 0
            while whole < 39:  # every request's trace ends up whole, before and after
                whole = 0
                for row in (await client.get("/_pywatt/api/traces")).json()["traces"]:
                    trace = (await client.get(f"/_pywatt/api/traces/{row['trace_id']}")).json()
                    whole += _names(trace) >= WHOLE
                await trio.sleep(0.1)


async def test_pywatt_run_with_the_dashboard_exporter_shows_the_whole_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's way: ``OTEL_TRACES_EXPORTER=dashboard pywatt run``, the orchestrator and
    both modules set up by the variable alone, no collector anywhere."""
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pytest.fail("DATABASE_URL is not set: run with .ci/with-services.sh (or `just test`)")
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text(
        f"""
[orchestrator]
grace = 1

[modules.back]
command = {os.path.join(MODULES, "back.py")!r}

[modules.front]
command = {os.path.join(MODULES, "front.py")!r}
"""
    )
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "dashboard")
    with trio.fail_after(60):
        async with background("run", "--manifest", str(manifest), "--no-control") as run:
            await run.wait_for("front is up", timeout=30)
            await run.wait_for("back is up", timeout=30)
            await run.wait_for("/_pywatt/")
            [address] = re.findall(r"dashboard on (http://\S+)/_pywatt/", run.output)
            async with httpx.AsyncClient(base_url=address, timeout=30) as client:
                while (reply := await _order(client, 8)).status_code != 200:  # noqa: ASYNC110
                    await trio.sleep(0.05)  # until front's channel to back is up
                trace = await _wait_trace(client, lambda t: _names(t) >= WHOLE)
            run.process.send_signal(signal.SIGTERM)
    assert reply.json() == {"number": 8, "doubled": 16}
    assert [r["source"] for r in trace["spans"]][:5] == [
        "orchestrator", "front", "front", "back", "back",
    ]  # fmt: skip
    assert trace["spans"][0]["service"] == "pywatt-orchestrator"
    assert {r["service"] for r in trace["spans"][1:]} == {"front", "back"}
