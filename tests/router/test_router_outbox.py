"""The router writes into the connection's published outbox (no hand-off to the connection
actor), waits for room above its high-water mark, and serves plain functions in place."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio
import trio.lowlevel
import trio.testing

import actors
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelDirectory,
    ChannelInbound,
    ChannelsActor,
    ChannelState,
    ConnectionStatus,
    Outbox,
    SendFrame,
    Subscriptions,
)
from pywatt.router import ROUTER, GetRouterStatistics, RegisterHandler, Router, SendRequest
from pywatt.wire import (
    ChannelType,
    EncodedMessage,
    FrameDecoder,
    Message,
    ModuleToOrchestrator,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    decode_json,
    encode_payload,
    encode_reply_ok,
)
from pywatt.wire import MessageMetadata as Meta

CONN = "fake.conn"


def _routes(frames: list[bytes]) -> list[RouteToModule]:
    decoder = FrameDecoder()
    for frame in frames:
        decoder.feed(frame)
    return [decode_json(f.payload, Message[ModuleToOrchestrator]).content for f in decoder.frames()]


class Told(actors.Actor[SendFrame]):
    """Stands in for the connection actor: records what it is told."""

    def __init__(self, told: list[bytes]) -> None:
        self.told = told

    async def receive(self, message: SendFrame) -> None:
        self.told.append(message.data)


@attrs.define
class Rig:
    system: actors.ActorSystem
    state: ChannelState
    outbox: Outbox
    told: list[bytes]

    async def inbound(self, message: Any) -> None:
        await self.system.tell(ROUTER, ChannelInbound(CONN, message))


@asynccontextmanager
async def rig(high_water: int = 1 << 20) -> AsyncIterator[Rig]:
    directory = ChannelDirectory()
    state = ChannelState(CONN, ChannelType.TCP, "127.0.0.1:1", 0)
    state.set_status(ConnectionStatus.CONNECTED)
    outbox = state.outbox = Outbox(high_water)
    directory.add(state)
    told: list[bytes] = []
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: Told(told), name=CONN)
        await system.spawn(lambda: ChannelsActor(directory, Subscriptions()), name=CHANNELS_ACTOR)
        await system.spawn(lambda: Router("me"), name=ROUTER)
        with trio.fail_after(10):
            yield Rig(system, state, outbox, told)


async def test_a_request_goes_into_the_published_outbox_and_its_reply_completes_it() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        results: list[Any] = []

        async def ask() -> None:
            results.append(await r.system.ask(ROUTER, SendRequest("billing", "charge", {"n": 1})))

        nursery.start_soon(ask)
        await trio.testing.wait_all_tasks_blocked()
        (route,) = _routes(r.outbox.take())
        assert r.told == []  # no hand-off to the connection actor
        await r.inbound(
            RoutedModuleResponse(
                source_module_id="billing",
                request_id=route.request_id,
                payload=EncodedMessage(data=encode_reply_ok({"ok": True})),
            )
        )
    assert results == [{"ok": True}]


async def test_above_the_high_water_mark_the_router_waits_for_room() -> None:
    async with rig(high_water=1) as r, trio.open_nursery() as nursery:
        r.outbox.put(b"x")  # full
        nursery.start_soon(r.system.ask, ROUTER, SendRequest("billing", "charge", {"n": 1}))
        await trio.testing.wait_all_tasks_blocked()
        assert r.outbox.frames == [b"x"]  # the router waits; nothing was dropped
        assert r.outbox.take() == [b"x"]
        await trio.testing.wait_all_tasks_blocked()
        (route,) = _routes(r.outbox.take())
        assert route.target_module_id == "billing"
        stats = await r.system.ask(ROUTER, GetRouterStatistics())
        assert stats.in_flight == 1
        nursery.cancel_scope.cancel()


async def test_a_closed_outbox_sends_the_frame_to_the_connection_actor() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        r.outbox.close()
        nursery.start_soon(r.system.ask, ROUTER, SendRequest("billing", "charge", {"n": 1}))
        await trio.testing.wait_all_tasks_blocked()
        (route,) = _routes(r.told)
        assert route.target_endpoint == "charge"
        nursery.cancel_scope.cancel()


async def test_plain_async_and_awaitable_returning_handlers_all_answer() -> None:
    async def later(request: Any) -> Any:
        await trio.lowlevel.checkpoint()
        return {"later": request["n"]}

    def returns_awaitable(request: Any) -> Any:
        return later(request)

    async with rig() as r:
        await r.system.ask(
            ROUTER, RegisterHandler("plain", lambda request: {"plain": request["n"]})
        )
        await r.system.ask(ROUTER, RegisterHandler("async", later))
        await r.system.ask(ROUTER, RegisterHandler("returns", returns_awaitable))
        for endpoint in ("plain", "async", "returns"):
            payload = encode_payload(
                {"n": 7},
                metadata=Meta(destination=endpoint, properties={"pywatt_reply": "result"}),
            )
            await r.inbound(
                RoutedModuleMessage(
                    source_module_id="caller", original_request_id=uuid.uuid4(), payload=payload
                )
            )
        await trio.testing.wait_all_tasks_blocked()
        replies = sorted(route.payload.data for route in _routes(r.outbox.take()))
    assert replies == [b'{"Ok":{"later":7}}', b'{"Ok":{"later":7}}', b'{"Ok":{"plain":7}}']
