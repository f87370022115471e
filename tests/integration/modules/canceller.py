"""A pywatt module for cancels across modules (integration tests), in both roles.

As a callee: ``hold`` (an async handler) and ``hold_actor`` (served by the actor
``holder``) wait, for the request's ``key``, on an event that is never set, and record
``cancelled`` when their work is cancelled; ``wait_started`` / ``wait_cancelled`` answer once
that key's handler started / was cancelled (so the test waits on the thing it checks),
``state`` answers ``"running"``, ``"cancelled"`` or ``None``; ``echo`` answers at once;
``stats`` answers the router's ``gave_up`` and ``cancelled_by_caller``.

As a caller: ``give_up`` ``{"target": "module:endpoint", "key": k}`` sends the request
(timeout 60 s), waits until the target says its handler started, cancels its own wait and
answers ``"gave up"`` (with ``"gate": true``, only once ``go`` was asked for that key);
``call`` ``{"target": ..., "payload": ...}`` waits for the reply.
"""

from __future__ import annotations

import collections
from typing import Any

import attrs
import trio

import actors
from pywatt import AppState, run_module
from pywatt.router import GetRouterStatistics

STARTED: collections.defaultdict[str, trio.Event] = collections.defaultdict(trio.Event)
CANCELLED: collections.defaultdict[str, trio.Event] = collections.defaultdict(trio.Event)
GO: collections.defaultdict[str, trio.Event] = collections.defaultdict(trio.Event)


async def hold(key: str) -> None:
    STARTED[key].set()
    try:
        await trio.Event().wait()  # never set: only a cancel ends it
    except trio.Cancelled:
        CANCELLED[key].set()
        raise


@attrs.frozen
class Hold(actors.Request[None]):
    key: str


class Holder(actors.Actor[Hold]):
    async def receive(self, message: Hold) -> None:
        await hold(message.key)


async def main(state: AppState[Any]) -> None:
    async def hold_endpoint(request: dict[str, Any]) -> None:
        await hold(request["key"])

    async def wait_started(key: str) -> bool:
        await STARTED[key].wait()
        return True

    async def wait_cancelled(key: str) -> bool:
        await CANCELLED[key].wait()
        return True

    def status(key: str) -> str | None:
        if CANCELLED[key].is_set():
            return "cancelled"
        return "running" if STARTED[key].is_set() else None

    def echo(request: Any) -> Any:
        return request

    async def give_up(request: dict[str, Any]) -> str:
        target, key = request["target"], request["key"]
        module = target.split(":", 1)[0]
        async with trio.open_nursery() as nursery:

            async def call() -> None:
                await state.send_request(target, {"key": key}, timeout=60)

            nursery.start_soon(call)
            await state.send_request(f"{module}:wait_started", key, timeout=30)
            if request.get("gate"):
                await GO[key].wait()
            nursery.cancel_scope.cancel()  # the caller gives up, well before 60 s
        return "gave up"

    async def stats(request: Any) -> dict[str, int]:
        found = await state.system.ask("pywatt.router", GetRouterStatistics())
        return {"gave_up": found.gave_up, "cancelled_by_caller": found.cancelled_by_caller}

    def go(key: str) -> bool:
        GO[key].set()
        return True

    async def call(request: dict[str, Any]) -> Any:
        return await state.send_request(request["target"], request.get("payload"), timeout=60)

    await state.spawn(Holder, name="holder")
    await state.serve("hold", hold_endpoint)
    await state.serve("hold_actor", "holder", request_type=Hold)
    await state.serve("wait_started", wait_started)
    await state.serve("wait_cancelled", wait_cancelled)
    await state.serve("state", status)
    await state.serve("echo", echo)
    await state.serve("give_up", give_up)
    await state.serve("call", call)
    await state.serve("go", go)
    await state.serve("stats", stats)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="INFO"))
