"""Frames over the limit: an oversized request or notification fails alone with a typed error,
an oversized reply reaches its caller at once as a typed error, and the router keeps going."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from pywatt.router import (
    MessageTooLarge,
    RegisterHandler,
    SendMessage,
    SendRequest,
)
from pywatt.wire import DEFAULT_MAX_FRAME_SIZE, decode_reply, encode_reply_ok

from .test_router import Rig, _reply, _request, rig

# JSON writes each byte of an encoded payload as a number and a comma: "x" (120) takes 4.
OVERSIZED = "x" * (DEFAULT_MAX_FRAME_SIZE // 4 + 1024)


def _crashes(system: actors.ActorSystem) -> list[actors.Crashed]:
    crashes: list[actors.Crashed] = []
    system.events.subscribe(lambda e: crashes.append(e) if isinstance(e, actors.Crashed) else None)
    return crashes


async def _still_routes(r: Rig) -> None:
    async with trio.open_nursery() as nursery:
        answers: list[Any] = []

        async def ask() -> None:
            answers.append(await r.ask(SendRequest("billing", "charge", 1)))

        nursery.start_soon(ask)
        route = await r.frames.receive()
        await r.inbound(_reply(route, encode_reply_ok("fine")))
    assert answers == ["fine"]


async def test_an_oversized_request_fails_alone_with_a_typed_error() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        crashes = _crashes(r.system)
        waiting: list[Any] = []

        async def ask_small() -> None:  # in flight while the big one is refused
            waiting.append(await r.ask(SendRequest("billing", "charge", "small")))

        nursery.start_soon(ask_small)
        small = await r.frames.receive()
        with pytest.raises(MessageTooLarge) as info:
            await r.ask(SendRequest("billing", "charge", OVERSIZED))
        error = info.value
        assert (error.target, error.endpoint) == ("billing", "charge")
        assert error.size > error.limit == DEFAULT_MAX_FRAME_SIZE
        with pytest.raises(MessageTooLarge):
            await r.ask(SendMessage("billing", "note", OVERSIZED))
        await r.inbound(_reply(small, encode_reply_ok("small done")))
        await trio.testing.wait_all_tasks_blocked()
        assert waiting == ["small done"]
        stats = await r.stats()
        assert (stats.in_flight, stats.sent, stats.too_large) == (0, 1, 2)
        await _still_routes(r)
    assert crashes == []


@pytest.mark.parametrize("kind", ["function", "async", "actor"])
async def test_an_oversized_reply_reaches_the_caller_at_once_as_a_typed_error(kind: str) -> None:
    async with rig() as r:
        crashes = _crashes(r.system)

        def big(request: Any) -> str:
            return OVERSIZED

        async def big_async(request: Any) -> str:
            await trio.lowlevel.checkpoint()
            return OVERSIZED

        if kind == "actor":
            await r.system.spawn(lambda: _Big(), name="big")
        handler = {"function": big, "async": big_async, "actor": "big"}[kind]
        await r.ask(RegisterHandler("big", handler, Want if kind == "actor" else Any))
        request = _request({}, destination="big", marker="result")
        await r.inbound(request)
        with trio.fail_after(5):  # at once: never the caller's 30 s deadline
            reply = await r.frames.receive()
        assert reply.request_id == request.original_request_id
        error = decode_reply(reply.payload.data, Any)
        assert error.error_type == "ReplyTooLarge"
        assert error.module == "me"
        assert str(DEFAULT_MAX_FRAME_SIZE) in error.message
        assert (await r.stats()).too_large == 1
        await _still_routes(r)
    assert crashes == []


@attrs.frozen
class Want(actors.Request[str]):
    pass


class _Big(actors.Actor[Want]):
    async def receive(self, message: Want) -> str:
        return OVERSIZED
