"""The pinger/ponger example: two real modules talking over the router."""

from __future__ import annotations

import trio

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

from .conftest import EXAMPLES


async def test_pinger_and_ponger_talk_over_the_router() -> None:
    specs = [
        ModuleSpec.from_command("pinger", str(EXAMPLES / "pinger.py"), env={"PINGS": "3"}),
        ModuleSpec.from_command("ponger", str(EXAMPLES / "ponger.py")),
    ]
    with trio.fail_after(30):
        async with open_orchestrator(Manifest(modules=specs), on_output=lambda line: None) as orch:
            pinger, ponger = orch.module("pinger"), orch.module("ponger")
            await pinger.wait_stderr("pinger done")
            for n in (1, 2, 3):
                await pinger.wait_stderr(f"pong {n} from ponger")
            await ponger.wait_stderr("ping -1")  # the notification arrived, unanswered
            stats = await orch.routing_statistics()
            assert stats.late_replies == 0
