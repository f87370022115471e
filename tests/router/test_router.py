"""The router actor against a recording connection: the exact frames it writes, every
outcome of a request exactly once, and serving endpoints (pywatt and Rust forms)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio

import actors
import actors.testing
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelDirectory,
    ChannelInbound,
    ChannelsActor,
    ChannelState,
    ConnectionLost,
    ConnectionStatus,
    NoChannel,
    SendFrame,
    Subscriptions,
)
from pywatt.router import (
    ROUTER,
    EndpointsReady,
    GetRouterStatistics,
    RegisterHandler,
    RemoteError,
    RemoteRef,
    RequestInterrupted,
    RequestTimeout,
    SendMessage,
    SendRequest,
    parse_target,
    router_spec,
)
from pywatt.wire import (
    REPLY_ENDPOINT,
    EncodedMessage,
    FrameDecoder,
    Message,
    MessageMetadata,
    ModuleToOrchestrator,
    ReplyError,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    decode_json,
    decode_payload_message,
    decode_reply,
    encode_payload,
    encode_reply_error,
    encode_reply_ok,
)

CONN = "fake.conn"


@attrs.frozen
class Charge(actors.Request["Receipt"]):
    amount: int


@attrs.frozen
class Receipt:
    charged: int
    by: str


class Recorder(actors.Actor[SendFrame]):
    def __init__(self, send: trio.MemorySendChannel[RouteToModule]) -> None:
        self.send = send

    async def receive(self, message: SendFrame) -> None:
        decoder = FrameDecoder()
        decoder.feed(message.data)
        for frame in decoder.frames():
            envelope = decode_json(frame.payload, Message[ModuleToOrchestrator])
            await self.send.send(envelope.content)


@attrs.define
class Rig:
    system: actors.ActorSystem
    frames: trio.MemoryReceiveChannel[RouteToModule]
    state: ChannelState

    async def ask(self, message: Any) -> Any:
        return await self.system.ask(ROUTER, message)

    async def inbound(self, message: Any) -> None:
        await self.system.tell(ROUTER, ChannelInbound(CONN, message))

    async def stats(self) -> Any:
        return await self.system.ask(ROUTER, GetRouterStatistics())


@asynccontextmanager
async def rig(**options: Any) -> AsyncIterator[Rig]:
    directory = ChannelDirectory()
    state = ChannelState(CONN, directory.preferences and _tcp(), "127.0.0.1:1", 0)
    state.set_status(ConnectionStatus.CONNECTED)
    directory.add(state)
    send, receive = trio.open_memory_channel[RouteToModule](64)
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: Recorder(send), name=CONN)
        await system.spawn(lambda: ChannelsActor(directory, Subscriptions()), name=CHANNELS_ACTOR)
        await system.root.start_child(router_spec("me", **options))
        with trio.fail_after(10):
            yield Rig(system, receive, state)


def _tcp() -> Any:
    from pywatt.wire import ChannelType

    return ChannelType.TCP


def _reply(route: RouteToModule, data: bytes, source: str = "billing") -> RoutedModuleResponse:
    return RoutedModuleResponse(
        source_module_id=source,
        request_id=route.request_id,
        payload=EncodedMessage(data=data),
    )


async def test_a_request_is_a_marked_route_and_its_reply_is_decoded_as_the_type() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        results: list[Any] = []

        async def ask() -> None:
            results.append(await r.ask(SendRequest("billing", "charge", Charge(5), Receipt)))

        nursery.start_soon(ask)
        route = await r.frames.receive()
        assert (route.target_module_id, route.target_endpoint) == ("billing", "charge")
        inner = decode_payload_message(route.payload, Charge)
        assert inner.content == Charge(5)
        assert inner.metadata.destination == "charge"
        # The caller's budget travels: here the rig's trio.fail_after(10), which comes before
        # the router's default timeout (30 s).
        assert inner.metadata.properties is not None
        assert inner.metadata.properties.pop("pywatt_deadline_ms") in range(5000, 10001)
        assert inner.metadata.properties == {"pywatt_reply": "result"}
        await r.inbound(_reply(route, encode_reply_ok(Receipt(5, "billing"))))
    assert results == [Receipt(5, "billing")]


async def test_a_remote_error_carries_type_message_module_and_request_id() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        errors: list[RemoteError] = []

        async def ask() -> None:
            with pytest.raises(RemoteError) as caught:
                await r.ask(SendRequest("billing", "charge", {"amount": 5}))
            errors.append(caught.value)

        nursery.start_soon(ask)
        route = await r.frames.receive()
        error = ReplyError(
            error_type="KeyError", message="no such customer", module="billing",
            request_id=route.request_id,
        )  # fmt: skip
        await r.inbound(_reply(route, encode_reply_error(error)))
    (error_seen,) = errors
    assert (error_seen.error_type, error_seen.remote_message, error_seen.module) == (
        "KeyError", "no such customer", "billing",
    )  # fmt: skip
    assert error_seen.request_id == route.request_id


async def test_a_timeout_is_the_one_outcome_and_the_late_reply_is_dropped_and_counted() -> None:
    async with rig(default_timeout=0.05) as r:
        with pytest.raises(RequestTimeout, match=r"no reply from billing/charge within 0\.05 s"):
            await r.ask(SendRequest("billing", "charge", 1))
        route = await r.frames.receive()
        await r.inbound(_reply(route, encode_reply_ok(1)))
        stats = await r.stats()
        assert (stats.timeouts, stats.late_replies, stats.replies, stats.in_flight) == (1, 1, 0, 0)


async def test_a_lost_connection_interrupts_the_requests_it_carried() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        outcomes: list[str] = []

        async def ask() -> None:
            try:
                await r.ask(SendRequest("billing", "charge", 1))
            except RequestInterrupted as exc:
                outcomes.append(exc.reason)

        nursery.start_soon(ask)
        route = await r.frames.receive()
        await r.system.tell(ROUTER, ConnectionLost(CONN, "reset by peer"))
        await trio.testing.wait_all_tasks_blocked()
        await r.inbound(_reply(route, encode_reply_ok(1)))  # arrives after: late
        await trio.testing.wait_all_tasks_blocked()
        stats = await r.stats()
        assert (stats.interrupted, stats.late_replies) == (1, 1)
    assert outcomes == ["reset by peer"]


async def test_requests_beyond_the_bound_wait_for_a_free_slot() -> None:
    async with rig(max_in_flight=2) as r, trio.open_nursery() as nursery:
        answers: list[int] = []

        async def ask(n: int) -> None:
            answers.append(await r.ask(SendRequest("billing", "echo", n)))

        for n in range(3):
            nursery.start_soon(ask, n)
        first, second = await r.frames.receive(), await r.frames.receive()
        await trio.testing.wait_all_tasks_blocked()
        stats = await r.stats()
        assert (stats.in_flight, stats.parked) == (2, 1)
        with trio.move_on_after(0.05):
            await r.frames.receive()
            raise AssertionError("a third request went out past the bound")
        await r.inbound(_reply(first, encode_reply_ok(0)))
        third = await r.frames.receive()
        await r.inbound(_reply(second, encode_reply_ok(1)))
        await r.inbound(_reply(third, encode_reply_ok(2)))
    assert sorted(answers) == [0, 1, 2]


async def test_a_timeout_frees_its_slot_for_a_parked_request() -> None:
    async with rig(max_in_flight=1) as r, trio.open_nursery() as nursery:
        outcomes: list[object] = []

        async def ask(n: int, timeout: float) -> None:
            try:
                outcomes.append(await r.ask(SendRequest("billing", "echo", n, timeout=timeout)))
            except RequestTimeout as exc:
                outcomes.append(exc)

        nursery.start_soon(ask, 0, 0.05)
        await r.frames.receive()
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(ask, 1, 30.0)
        second = await r.frames.receive()  # sent once the first one timed out
        assert isinstance(outcomes[0], RequestTimeout)
        await r.inbound(_reply(second, encode_reply_ok(1)))
        await trio.testing.wait_all_tasks_blocked()
        stats = await r.stats()
        assert (stats.timeouts, stats.replies, stats.in_flight, stats.parked) == (1, 1, 0, 0)
    assert outcomes[1] == 1


async def test_no_channel_fails_at_once() -> None:
    async with rig() as r:
        r.state.set_status(ConnectionStatus.DISCONNECTED)
        with pytest.raises(NoChannel, match="a request to billing/charge"):
            await r.ask(SendRequest("billing", "charge", 1))
        with pytest.raises(NoChannel):
            await r.ask(SendMessage("billing", "note", 1))


async def test_a_reply_forwarded_as_routed_module_message_still_completes_the_request() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        results: list[Any] = []

        async def ask() -> None:
            results.append(await r.ask(SendRequest("billing", "charge", 1)))

        nursery.start_soon(ask)
        route = await r.frames.receive()
        await r.inbound(
            RoutedModuleMessage(
                source_module_id="billing",
                original_request_id=route.request_id,
                payload=EncodedMessage(data=encode_reply_ok({"ok": True})),
            )
        )
    assert results == [{"ok": True}]


# -- serving -----------------------------------------------------------------------------------


def _request(
    payload: Any, *, destination: str | None, marker: str | None, source: str = "caller"
) -> RoutedModuleMessage:
    properties = {"pywatt_reply": marker} if marker else None
    encoded = encode_payload(
        payload, metadata=MessageMetadata(destination=destination, properties=properties)
    )
    return RoutedModuleMessage(
        source_module_id=source, original_request_id=uuid.uuid4(), payload=encoded
    )


async def test_endpoints_answer_pywatt_and_rust_requesters_in_their_forms() -> None:
    async with rig() as r:

        async def charge(request: Charge) -> Receipt:
            return Receipt(request.amount, "me")

        await r.ask(RegisterHandler("charge", charge, Charge, for_module="rusty"))
        # pywatt form: destination + marker -> {"Ok": ...}
        request = _request(Charge(3), destination="charge", marker="result")
        await r.inbound(request)
        reply = await r.frames.receive()
        assert reply.target_module_id == "caller"
        assert reply.target_endpoint == REPLY_ENDPOINT
        assert reply.request_id == request.original_request_id
        assert reply.payload.data == b'{"Ok":{"charged":3,"by":"me"}}'
        # Rust form: no destination, no marker -> the source module's handler, bare reply
        rust = _request(Charge(4), destination=None, marker=None, source="rusty")
        await r.inbound(rust)
        reply = await r.frames.receive()
        assert reply.payload.data == b'{"charged":4,"by":"me"}'
        assert reply.target_module_id == "rusty"


async def test_a_raising_handler_and_an_unknown_endpoint_answer_with_typed_errors() -> None:
    async with rig() as r:

        def fail(request: Any) -> None:
            raise KeyError("no such customer")

        await r.ask(RegisterHandler("fail", fail))
        await r.inbound(_request({}, destination="fail", marker="result"))
        error = (await r.frames.receive()).payload.data
        assert error.startswith(b'{"Err":{"type":"KeyError","message":"\'no such customer\'"')
        assert b'"module":"me"' in error
        await r.inbound(_request({}, destination="nope", marker="result"))
        unknown = (await r.frames.receive()).payload.data
        assert b'"type":"NoSuchEndpoint"' in unknown
        stats = await r.stats()
        assert (stats.handler_errors, stats.unroutable) == (1, 1)


async def test_a_notification_runs_its_handler_and_is_not_answered() -> None:
    seen: list[Any] = []
    async with rig() as r:
        await r.ask(RegisterHandler("note", seen.append))
        await r.ask(SendMessage("other", "note", {"n": 1}))
        sent = await r.frames.receive()
        assert decode_payload_message(sent.payload, Any).metadata.properties == {
            "pywatt_reply": "none"
        }
        await r.inbound(_request({"n": 2}, destination="note", marker="none"))
        await trio.testing.wait_all_tasks_blocked()
        with trio.move_on_after(0.05):
            await r.frames.receive()
            raise AssertionError("a notification was answered")
    assert seen == [{"n": 2}]


async def test_a_remote_ref_is_told_and_asked_like_a_local_actor() -> None:
    async with rig() as r, trio.open_nursery() as nursery:
        ref = RemoteRef(r.system, "billing/charge")
        results: list[Receipt] = []

        async def ask() -> None:
            results.append(await ref.ask(Charge(9)))

        nursery.start_soon(ask)
        route = await r.frames.receive()
        await r.inbound(_reply(route, encode_reply_ok(Receipt(9, "billing"))))
        await ref.tell({"event": "x"})
        told = await r.frames.receive()
        assert told.target_endpoint == "charge"
    assert results == [Receipt(9, "billing")]


def test_targets_are_module_colon_endpoint_or_module_slash_endpoint() -> None:
    from pywatt.router import BadTarget

    assert parse_target("config:get_setting") == ("config", "get_setting")
    assert parse_target("config/get_setting") == ("config", "get_setting")
    assert parse_target("config", "get") == ("config", "get")
    with pytest.raises(BadTarget):
        parse_target("no-endpoint")
    with pytest.raises(BadTarget):
        parse_target(":x")


async def test_a_bad_endpoint_is_refused_and_the_router_keeps_serving() -> None:
    from pywatt.router import BadTarget, UnregisterHandler

    async with rig() as r:
        with pytest.raises(BadTarget):
            await r.ask(RegisterHandler(["not", "a", "string"], print))  # type: ignore[arg-type]
        with pytest.raises(BadTarget):
            await r.ask(RegisterHandler("", print))
        await r.ask(UnregisterHandler(["nor", "this"]))  # type: ignore[arg-type]
        await r.ask(RegisterHandler("echo", lambda x: x))
        assert (await r.stats()).endpoints == ("echo",)


async def test_requests_before_the_module_serves_its_endpoints_wait_for_them() -> None:
    """A restarted module's channel is up before its main has served anything: a request
    that comes then waits for its endpoint (or for the module's setup to end), even across a
    crash of the router, instead of being refused with NoSuchEndpoint."""
    async with rig(hold_until_ready=True) as r:

        async def charge(request: Charge) -> Receipt:
            return Receipt(request.amount, "me")

        await r.inbound(_request(Charge(5), destination="charge", marker="result"))
        await r.inbound(_request({}, destination="nope", marker="result"))
        await trio.testing.wait_all_tasks_blocked()
        assert (await r.stats()).held == 2
        await actors.testing.crash(r.system, ROUTER)  # what is held belongs to the name
        await r.ask(RegisterHandler("charge", charge, Charge))
        answered = await r.frames.receive()
        assert decode_reply(answered.payload.data, Receipt) == Receipt(5, "me")
        with trio.move_on_after(0.05):
            await r.frames.receive()
            raise AssertionError("a request for an endpoint not served yet was answered")
        await r.ask(EndpointsReady())  # main is done: what nobody serves is refused now
        refused = (await r.frames.receive()).payload.data
        assert b'"type":"NoSuchEndpoint"' in refused
        await r.inbound(_request({}, destination="nope", marker="result"))
        assert b'"type":"NoSuchEndpoint"' in (await r.frames.receive()).payload.data
        stats = await r.stats()
        assert (stats.held, stats.unroutable) == (0, 2)
