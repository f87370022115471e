"""A module freezes its start-up heap once it has announced (``PYWATT_GC_FREEZE``)."""

from __future__ import annotations

import pytest
import trio

from pywatt.orchestrator import ModuleState, RestartPolicy
from pywatt.testing import open_module
from pywatt.wire import EXIT_CANNOT_START

from .conftest import MODULES

REPORT = MODULES / "gc_report.py"


async def _frozen(env: dict[str, str]) -> int:
    async with open_module(REPORT, env=env) as module:
        with trio.fail_after(20):
            report = await module.orchestrator.request(module.id, "gc", None)
    assert report["enabled"]
    frozen: int = report["frozen"]
    return frozen


async def test_a_module_freezes_what_start_up_made() -> None:
    # The interpreter, pywatt and the actor tree: tens of thousands of objects at least.
    assert await _frozen({}) > 10_000


@pytest.mark.parametrize("word", ["0", "off", " No "])
async def test_pywatt_gc_freeze_0_leaves_the_collector_as_python_has_it(word: str) -> None:
    assert await _frozen({"PYWATT_GC_FREEZE": word}) == 0


async def test_another_value_stops_the_start_with_one_line_that_says_how() -> None:
    async with open_module(
        REPORT,
        env={"PYWATT_GC_FREEZE": "sometimes"},
        restart=RestartPolicy(max_restarts=0, within=30.0),
        wait_announced=None,
    ) as module:
        with trio.fail_after(20):
            line = await module.handle.wait_stderr("PYWATT_GC_FREEZE='sometimes'")
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
        assert "say 0" in line
        assert module.handle.last_exit == EXIT_CANNOT_START
