"""A crash of a module's registrar, which restarts the registrar and the services after it,
costs the module nothing: it stays registered (heartbeats go on), and its own actors, which
it started under its services, are started again and go on answering."""

from __future__ import annotations

import trio

from pywatt.orchestrator import ModuleSpec, Orchestrator

from .conftest import MODULES
from .test_channels_between_modules import orchestrated

MODULE = str(MODULES / "crashes_its_own.py")


async def _heartbeats(orch: Orchestrator, module_id: str) -> int:
    record = await orch.registration(module_id)
    assert record is not None, f"{module_id} is not registered"
    return record.heartbeats


async def _wait_heartbeats(orch: Orchestrator, module_id: str, count: int) -> None:
    """Until the orchestrator has had ``count`` registration heartbeats (the hub's record
    changes without an event to wait on: it is asked again and again)."""
    while True:
        record = await orch.registration(module_id)
        if record is not None and record.heartbeats >= count:
            return
        await trio.sleep(0.05)


async def test_a_crashed_registrar_leaves_the_module_registered_and_its_actors_running() -> None:
    with trio.fail_after(40):
        async with orchestrated(ModuleSpec.from_command("m", MODULE)) as (orch, lines):
            await orch.module("m").wait_announced()
            await _wait_heartbeats(orch, "m", 1)
            assert await orch.request("m", "count", {}) == 1
            for crashes in (1, 2):
                await orch.request("m", "crash", {"actor": "pywatt.registrar"})
                await orch.module("m").wait_until(lambda h, n=crashes: _crashes(h.stderr) == n)
                with trio.fail_after(5):
                    await _wait_heartbeats(orch, "m", await _heartbeats(orch, "m") + 2)
                # The counter is there again (a new incarnation: its count starts over), and
                # answers the request that waited in its mailbox during the restart.
                with trio.fail_after(5):
                    assert await orch.request("m", "count", {}) >= 1
            assert orch.module("m").restarts == 0
            assert not any("internal error" in line for line in lines)


def _crashes(stderr: object) -> int:
    return sum("crashed: CrashCommand" in line for line in stderr)  # type: ignore[attr-defined]
