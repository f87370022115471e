"""A registered module that crashes one of its own actors on request (``crash`` endpoint,
``{"actor": name}``), with an actor of its own (``counter``, started with ``state.spawn``)
answering its ``count`` endpoint, and ``relay`` (``{"to": module}``), which asks that
module's ``count`` and returns its answer (a request of its own, through the orchestrator)."""

from __future__ import annotations

from typing import Any

import attrs

import actors
import actors.testing
from pywatt import AppState, run_module


@attrs.frozen
class Count(actors.Request[int]):
    pass


class Counter(actors.Actor[Count]):
    def __init__(self) -> None:
        self.count = 0

    async def receive(self, message: Count) -> int:
        self.count += 1
        return self.count


@attrs.frozen
class CrashIt:
    actor: str


class Crasher(actors.Actor[CrashIt]):
    """Outside the module's tree, so that no crash it causes restarts it."""

    async def receive(self, message: CrashIt) -> None:
        await actors.testing.crash(self.ctx.system, message.actor)


async def main(state: AppState[Any]) -> None:
    await state.system.spawn(Crasher, name="crasher")
    await state.spawn(Counter, name="counter")

    async def crash(request: dict[str, str]) -> str:
        await state.system.tell("crasher", CrashIt(request["actor"]))
        return "queued"

    async def relay(request: dict[str, str]) -> int:
        answer: int = await state.send_request(f"{request['to']}:count", {}, timeout=10)
        return answer

    await state.serve("crash", crash)
    await state.serve("relay", relay)
    await state.serve("count", "counter", request_type=Count)


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main, enable_module_registration=True, registration_config={"heartbeat_interval": 0.2}
        )
    )
