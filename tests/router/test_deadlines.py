"""A request's deadline travels in its metadata (``pywatt_deadline_ms``): the caller writes
the budget it will still wait, and the serving router cancels the handler at that deadline
(an actor handler sees it as ``ctx.deadline``), sending no reply the caller would drop."""

from __future__ import annotations

import math
import uuid
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from pywatt.router import RegisterHandler, RequestTimeout, SendRequest
from pywatt.wire import (
    MessageMetadata,
    RoutedModuleMessage,
    decode_payload_message,
    encode_payload,
)

from .test_router import rig


def _timed_request(payload: Any, endpoint: str, budget_ms: int | None) -> RoutedModuleMessage:
    properties: dict[str, Any] = {"pywatt_reply": "result"}
    if budget_ms is not None:
        properties["pywatt_deadline_ms"] = budget_ms
    encoded = encode_payload(
        payload, metadata=MessageMetadata(destination=endpoint, properties=properties)
    )
    return RoutedModuleMessage(
        source_module_id="caller", original_request_id=uuid.uuid4(), payload=encoded
    )


async def test_the_callers_budget_travels_with_the_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        budgets = []
        for timeout, scope_seconds in ((2.0, None), (None, 0.5), (10.0, 0.25)):
            with trio.move_on_after(scope_seconds or math.inf):
                async with trio.open_nursery() as nursery:
                    request = SendRequest("billing", "charge", {"n": 1}, timeout=timeout)
                    nursery.start_soon(r.ask, request)
                    route = await r.frames.receive()
                    properties = decode_payload_message(route.payload, Any).metadata.properties
                    assert properties is not None
                    budgets.append(properties["pywatt_deadline_ms"])
                    nursery.cancel_scope.cancel()
        # The request's timeout, or the caller's own (earlier) deadline.
        assert budgets == [2000, 500, 250]


async def test_a_request_timeout_follows_the_callers_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        start = trio.current_time()
        with pytest.raises(RequestTimeout):
            await r.ask(SendRequest("billing", "charge", {"n": 1}, timeout=1.5))
        assert trio.current_time() - start == pytest.approx(1.5)


async def test_an_async_handler_is_cancelled_at_the_callers_deadline_and_not_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[tuple[str, float]] = []
    async with rig() as r:

        async def slow(request: Any) -> str:
            seen.append(("deadline", trio.current_effective_deadline()))
            try:
                await trio.sleep(request["seconds"])
            except trio.Cancelled:
                seen.append(("cancelled", trio.current_time()))
                raise
            return "done"

        await r.ask(RegisterHandler("slow", slow))
        arrived = trio.current_time()
        await r.inbound(_timed_request({"seconds": 60}, "slow", 100))
        await trio.sleep(1)
        assert seen == [
            ("deadline", pytest.approx(arrived + 0.1)),
            ("cancelled", pytest.approx(arrived + 0.1)),
        ]
        with trio.move_on_after(1):  # the caller has its own timeout: no late reply
            await r.frames.receive()
            raise AssertionError("a reply was sent after the caller's deadline")
        # One in time is answered as usual.
        await r.inbound(_timed_request({"seconds": 0.05}, "slow", 1000))
        reply = await r.frames.receive()
        assert b'{"Ok":"done"}' in reply.payload.data
        stats = await r.stats()
        assert (stats.expired, stats.handled) == (1, 1)


@attrs.frozen
class Wait(actors.Request[float]):
    seconds: float


class Waiter(actors.Actor[Wait]):
    log: list[tuple[str, float]] = []

    async def receive(self, message: Wait) -> float:
        Waiter.log.append(("deadline", self.ctx.deadline))
        try:
            await trio.sleep(message.seconds)
        except trio.Cancelled:
            Waiter.log.append(("cancelled", trio.current_time()))
            raise
        return self.ctx.deadline


async def test_an_actor_handler_sees_the_deadline_and_is_cancelled_at_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    Waiter.log = []
    async with rig() as r:
        await r.system.spawn(Waiter, name="waiter")
        await r.ask(RegisterHandler("wait", "waiter", Wait))
        arrived = trio.current_time()
        await r.inbound(_timed_request(Wait(60), "wait", 200))
        await trio.sleep(1)
        assert Waiter.log == [
            ("deadline", pytest.approx(arrived + 0.2)),
            ("cancelled", pytest.approx(arrived + 0.2)),
        ]
        # The actor did not crash, and answers the next request in time.
        now = trio.current_time()
        await r.inbound(_timed_request(Wait(0.01), "wait", 5000))
        reply = await r.frames.receive()
        assert b'"Ok"' in reply.payload.data
        assert r.system.statistics("waiter").incarnation == 1
        assert (await r.stats()).expired == 1
        assert Waiter.log[-1] == ("deadline", pytest.approx(now + 5))


async def test_a_request_with_no_budget_left_is_not_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ran: list[Any] = []
    async with rig() as r:
        await r.ask(RegisterHandler("note", ran.append))
        await r.inbound(_timed_request({"n": 1}, "note", 0))
        await r.inbound(_timed_request({"n": 2}, "note", None))  # no budget: no deadline
        reply = await r.frames.receive()
        assert b'"Ok"' in reply.payload.data
        assert ran == [{"n": 2}]
        assert (await r.stats()).expired == 1
