"""The router's side of cancels (``_cancel``): a caller that gives up tells a pywatt
orchestrator (``cancel_request`` on the request's connection) and frees its slot; a
``request_cancelled`` cancels the handler task of exactly that request on that connection,
or drops it while it is held, and sends no reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from pywatt.channels import ChannelInbound, Outbox
from pywatt.router import RegisterHandler, SendRequest
from pywatt.wire import (
    CancelRequest,
    FrameDecoder,
    Message,
    ModuleToOrchestrator,
    RequestCancelled,
    RouteToModule,
    decode_json,
)

from .test_deadlines import _timed_request
from .test_router import Rig, rig


@asynccontextmanager
async def wired(**options: Any) -> AsyncIterator[tuple[Rig, Outbox]]:
    """The rig with an outbox on its connection: every frame the router writes lands there."""
    async with rig(**options) as r:
        outbox = r.state.outbox = Outbox()
        yield r, outbox


async def _next(outbox: Outbox) -> Any:
    while not outbox.frames:
        await outbox.wait_frames()
    frame = outbox.frames.pop(0)
    decoder = FrameDecoder()
    decoder.feed(frame)
    (decoded,) = decoder.frames()
    return decode_json(decoded.payload, Message[ModuleToOrchestrator]).content


async def _give_up(r: Rig, outbox: Outbox) -> RouteToModule:
    """Send a request, then give up on it once it is on the wire."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(r.ask, SendRequest("billing", "charge", {"n": 1}, timeout=60))
        route = await _next(outbox)
        assert isinstance(route, RouteToModule)
        nursery.cancel_scope.cancel()
    return route


async def test_a_caller_that_gives_up_sends_cancel_request_on_the_requests_connection() -> None:
    async with wired(cancels=True) as (r, outbox):
        route = await _give_up(r, outbox)
        cancel = await _next(outbox)
        assert cancel == CancelRequest(target_module_id="billing", request_id=route.request_id)
        stats = await r.stats()
        assert (stats.in_flight, stats.gave_up, stats.timeouts) == (0, 1, 0)


async def test_toward_a_rust_orchestrator_nothing_is_sent() -> None:
    async with wired(cancels=False) as (r, outbox):
        await _give_up(r, outbox)
        stats = await r.stats()  # handled after the router's own CallerGaveUp
        assert (stats.in_flight, stats.gave_up) == (0, 1)
        assert outbox.frames == []


async def test_request_cancelled_cancels_only_that_request_on_that_connection() -> None:
    seen: list[str] = []
    started, cancelled = trio.Event(), trio.Event()
    async with wired() as (r, outbox):

        async def hold(request: Any) -> str:
            seen.append(request["key"])
            started.set()
            try:
                await trio.sleep_forever()
            except trio.Cancelled:
                seen.append("cancelled " + request["key"])
                cancelled.set()
                raise
            return "never"

        await r.ask(RegisterHandler("hold", hold))
        request = _timed_request({"key": "a"}, "hold", 60_000)
        await r.inbound(request)
        await started.wait()
        stray = (
            RequestCancelled(source_module_id="caller", request_id=request.original_request_id),
            RequestCancelled(source_module_id="other", request_id=request.original_request_id),
        )
        await r.system.tell("pywatt.router", ChannelInbound("elsewhere", stray[0]))
        await r.inbound(stray[1])
        assert (await r.stats()).cancelled_by_caller == 0
        assert seen == ["a"]
        await r.inbound(stray[0])
        await cancelled.wait()
        stats = await r.stats()
        assert stats.cancelled_by_caller == 1
        assert seen == ["a", "cancelled a"]
        assert outbox.frames == []  # no reply
        assert r.system.dead_letters.count() == 1


async def test_a_held_request_that_is_cancelled_never_runs() -> None:
    ran: list[Any] = []
    async with wired(hold_until_ready=True) as (r, outbox):
        request = _timed_request({"key": "held"}, "late", 60_000)
        await r.inbound(request)
        assert (await r.stats()).held == 1
        await r.inbound(
            RequestCancelled(source_module_id="caller", request_id=request.original_request_id)
        )
        await r.ask(RegisterHandler("late", ran.append))
        stats = await r.stats()
        assert (stats.held, stats.cancelled_by_caller, stats.handled) == (0, 1, 0)
        assert ran == []
        assert outbox.frames == []
