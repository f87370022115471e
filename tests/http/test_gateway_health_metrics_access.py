"""The gateway's own paths and its access log, with real modules under the embedded
orchestrator: ``/health`` of every module (200 when all are healthy, 503 with the reasons),
``/metrics`` of every module in one page and ``/metrics/<id>`` per module, the app's own
``/metrics`` winning over pywatt's, and one access-log line per request."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families

from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleSpec,
    Orchestrator,
    RestartPolicy,
    open_orchestrator,
)

from .prom import families, samples, value

MODULES = Path(__file__).parent / "modules"
PLAIN = str(MODULES / "plain_mod.py")
CANNOT_START = str(Path(__file__).parent.parent / "orchestrator" / "modules" / "cannot_start.py")
OWN_PAGE = (
    "# HELP app_orders_total Orders taken.\n# TYPE app_orders_total counter\napp_orders_total 7\n"
)


class Lines:
    """The console lines of a run, and a wait for the ones a test looks for."""

    def __init__(self) -> None:
        self.lines: list[ConsoleLine] = []
        self._changed = trio.Event()

    def __call__(self, line: ConsoleLine) -> None:
        self.lines.append(line)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int, pick: Callable[[ConsoleLine], bool]) -> list[ConsoleLine]:
        while len(found := [line for line in self.lines if pick(line)]) < count:
            await self._changed.wait()
        return found


def plain(module_id: str, *, own_metrics: bool = False) -> ModuleSpec:
    env = {"PLAIN_OWN_METRICS": "1"} if own_metrics else {}
    return ModuleSpec.from_command(module_id, PLAIN, env=env)


@asynccontextmanager
async def running(*specs: ModuleSpec) -> AsyncIterator[tuple[Orchestrator, Lines]]:
    lines = Lines()
    manifest = Manifest(modules=specs, grace=1.0, term_grace=1.0)
    async with open_orchestrator(manifest, on_output=lines) as orch:
        for handle in orch.modules:
            if handle.spec.argv[-1] == PLAIN:
                await handle.wait_announced()
        yield orch, lines


async def test_one_access_line_per_request_through_the_gateway() -> None:
    with trio.fail_after(30):
        async with running(plain("shop")) as (orch, lines):
            gateway = orch.orchestrator_api
            async with httpx.AsyncClient(timeout=10) as client:
                asked = [
                    (await client.get(f"{gateway}/hello?token=not-in-the-log")).status_code,
                    (await client.get(f"{gateway}/fail")).status_code,
                    (await client.get(f"{gateway}/nothing")).status_code,
                    (await client.delete(f"{gateway}/hello")).status_code,
                    (await client.get(f"{gateway}/health")).status_code,
                ]
            assert asked == [200, 500, 404, 405, 200]
            access = await lines.wait_for(5, lambda line: bool(line.fields.get("access")))
    records = [json.loads(line.render_json()) for line in access]
    assert [(r["method"], r["path"], r["status"], r["module"]) for r in records] == [
        ("GET", "/hello", 200, "shop"),
        ("GET", "/fail", 500, "shop"),
        ("GET", "/nothing", 404, None),
        ("DELETE", "/hello", 405, None),
        ("GET", "/health", 200, None),
    ]
    assert all(isinstance(r["ms"], float) and r["ms"] >= 0 for r in records)
    assert [r["level"] for r in records] == ["INFO", "WARNING", "INFO", "INFO", "INFO"]
    texts = [line.render() for line in access]
    assert re.fullmatch(r"pywatt: GET /hello 200 \d+\.\d ms \(shop\)", texts[0])
    assert re.fullmatch(r"pywatt: warning: GET /fail 500 \d+\.\d ms \(shop\)", texts[1])
    assert re.fullmatch(r"pywatt: GET /nothing 404 \d+\.\d ms \(gateway\)", texts[2])
    assert not any("not-in-the-log" in line.render_json() for line in lines.lines)


STRADDLING = "GET /straddle-9f3c2a71e5d04b68"
"""A secret that spans the method and the path of a request line."""


async def test_the_access_line_redacts_a_secret_that_straddles_method_and_path() -> None:
    with trio.fail_after(30):
        async with running(plain("shop")) as (orch, lines):
            orch.console.redact.register(STRADDLING)
            async with httpx.AsyncClient(timeout=10) as client:
                path = STRADDLING.split(" ", 1)[1]
                assert (await client.get(f"{orch.orchestrator_api}{path}")).status_code == 404
            access = await lines.wait_for(1, lambda line: bool(line.fields.get("access")))
    rendered = access[0].render_json()
    assert "straddle-9f3c2a71e5d04b68" not in rendered
    assert "/straddle-" not in access[0].render()
    assert " 404 " in access[0].render()


async def test_gateway_health_is_200_when_every_module_is_healthy() -> None:
    with trio.fail_after(30):
        async with (
            running(plain("shop"), plain("catalog")) as (orch, _),
            httpx.AsyncClient(timeout=10) as client,
        ):
            reply = await client.get(f"{orch.orchestrator_api}/health")
    assert reply.status_code == 200
    report = reply.json()
    assert report["status"] == "healthy"
    assert list(report["modules"]) == ["shop", "catalog"]
    for module_id, entry in report["modules"].items():
        assert entry["state"] == "running"
        assert entry["status"] == "healthy"
        assert entry["health"]["module_id"] == module_id  # the module's own report


async def test_gateway_health_is_503_with_the_reasons_when_a_module_is_not() -> None:
    broken = ModuleSpec.from_command(
        "broken", CANNOT_START, env={"CANNOT_START": "secret"},
        restart=RestartPolicy(max_restarts=0),
    )  # fmt: skip
    with trio.fail_after(30):
        async with running(plain("shop"), broken) as (orch, _):
            await orch.module("broken").wait_until(lambda h: h.state.final)
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.get(f"{orch.orchestrator_api}/health")
    assert reply.status_code == 503
    report = reply.json()
    assert report["status"] == "unhealthy"
    assert report["reasons"] == ["broken: could not start (exited with code 78)"]
    assert report["modules"]["broken"] == {
        "state": "failed", "status": "unhealthy", "reason": "could not start (exited with code 78)",
    }  # fmt: skip
    assert report["modules"]["shop"]["status"] == "healthy"


async def test_gateway_metrics_per_module_and_for_all_modules_in_one_page() -> None:
    with trio.fail_after(40):
        async with running(plain("shop", own_metrics=True), plain("catalog"), plain("search")) as (
            orch,
            _,
        ):
            gateway = orch.orchestrator_api
            async with httpx.AsyncClient(timeout=10) as client:
                shop = await client.get(f"{gateway}/metrics/shop")
                catalog = await client.get(f"{gateway}/metrics/catalog")
                nobody = await client.get(f"{gateway}/metrics/nobody")
                combined = await client.get(f"{gateway}/metrics")
    assert (shop.status_code, shop.text) == (200, OWN_PAGE)  # the app's own page
    assert catalog.status_code == 200
    assert value(catalog.text, "pywatt_actor_up", actor="pywatt.http") == 1
    assert nobody.status_code == 404
    assert nobody.json() == {"error": "no module 'nobody' (modules: shop, catalog, search)"}
    page = combined.text
    assert combined.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert value(page, "app_orders_total", module="shop") == 7
    for module_id in ("catalog", "search"):
        assert value(page, "pywatt_actor_up", module=module_id, actor="pywatt.http") == 1
    for module_id in ("shop", "catalog", "search"):
        assert value(page, "pywatt_module_up", module=module_id) == 1
    # Every sample says its module; each family is there once, the gateway's first.
    assert all(dict(labels).get("module") for (_, labels) in samples(page))
    names = [f.name for f in text_string_to_metric_families(page)]
    assert len(names) == len(set(names))
    assert names[:2] == ["pywatt_module_up", "pywatt_module_restarts"]


async def test_the_apps_own_metrics_page_wins_over_pywatts() -> None:
    with trio.fail_after(30):
        async with running(plain("shop", own_metrics=True), plain("catalog")) as (orch, _):
            shop = orch.module("shop").announce
            catalog = orch.module("catalog").announce
            assert shop is not None
            assert catalog is not None
            async with httpx.AsyncClient(timeout=10) as client:
                own = await client.get(f"http://{shop.listen}/metrics")
                ours = await client.get(f"http://{catalog.listen}/metrics")
                health = await client.get(f"http://{shop.listen}/health")
    assert (own.status_code, own.text) == (200, OWN_PAGE)
    assert own.headers["content-type"] == "text/plain; version=0.0.4"
    assert ours.status_code == 200
    assert "pywatt_actor_up" in families(ours.text)  # no page of its own: pywatt's
    assert health.json()["status"] == "healthy"  # /health stays pywatt's
