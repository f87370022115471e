"""Real modules under the embedded orchestrator: the app's own ``/metrics`` wins over
pywatt's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleSpec,
    Orchestrator,
    open_orchestrator,
)

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
    assert "pywatt_actor_up" in ours.text  # no page of its own: pywatt's
    assert health.json()["status"] == "healthy"  # /health stays pywatt's
