"""Routing through the orchestrator, driven by raw clients: a route in the canonical form
(forwarded without decoding its payload) and one in another form (decoded by pywatt.wire)
come out as the same frames, and requests go to the connection the target last sent on (or,
before it sent anything, to one connection, in order)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from pywatt.channels import encode_module_frame
from pywatt.orchestrator import ChannelOptions, ModuleKind, Orchestrator
from pywatt.wire import (
    NEED_DATA,
    REPLY_ENDPOINT,
    EncodedMessage,
    FrameDecoder,
    FrameFormat,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    SecurityLevel,
    encode_frame,
    encode_json,
)

from .helpers import raw, running


async def _next(stream: trio.abc.Stream, decoder: FrameDecoder) -> bytes:
    """The payload of the next frame that is not a heartbeat."""
    while True:
        frame = decoder.next_frame()
        if frame is NEED_DATA:
            data = await stream.receive_some(65536)
            assert data, "the orchestrator closed the connection"
            decoder.feed(data)
            continue
        if b'"op":"heartbeat"' not in frame.payload:
            return bytes(frame.payload)


def _reformatted(frame: bytes) -> bytes:
    """The same module frame in another (valid, non-canonical) form: spaces after separators."""
    payload = frame[5:]
    text = json.dumps(json.loads(payload), separators=(", ", ": ")).encode()
    return encode_frame(FrameFormat.JSON, text)


async def test_canonical_and_other_forms_of_a_route_are_forwarded_alike() -> None:
    with trio.fail_after(20):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await trio.open_unix_socket(orch.endpoints("billing").socket_path or "")
            ledger = await trio.open_unix_socket(orch.endpoints("ledger").socket_path or "")
            await orch.wait_channels("billing")
            await orch.wait_channels("ledger")
            at_billing, at_ledger = FrameDecoder(), FrameDecoder()
            for reshape in (False, True):
                request_id = uuid.uuid4()
                payload = EncodedMessage(data=b'{"n":1}')
                route = encode_module_frame(
                    RouteToModule(
                        target_module_id="ledger", target_endpoint="post",
                        request_id=request_id, payload=payload,
                    )
                )  # fmt: skip
                await billing.send_all(_reformatted(route) if reshape else route)
                routed = await _next(ledger, at_ledger)
                assert routed == encode_json(
                    RoutedModuleMessage(
                        source_module_id="billing", original_request_id=request_id,
                        payload=payload,
                    )
                )  # fmt: skip
                answer = EncodedMessage(data=b'{"Ok":2}')
                reply = encode_module_frame(
                    RouteToModule(
                        target_module_id="billing", target_endpoint=REPLY_ENDPOINT,
                        request_id=request_id, payload=answer,
                    )
                )  # fmt: skip
                await ledger.send_all(_reformatted(reply) if reshape else reply)
                response = await _next(billing, at_billing)
                assert response == encode_json(
                    RoutedModuleResponse(
                        source_module_id="ledger", request_id=request_id, payload=answer
                    )
                )
            stats = await orch.routing_statistics()
            assert (stats.routed, stats.replies, stats.late_replies) == (2, 2, 0)
            await billing.aclose()
            await ledger.aclose()


@asynccontextmanager
async def _ledger_on_two_connections(
    *, tcp_first: bool
) -> AsyncIterator[tuple[Orchestrator, trio.abc.Stream, trio.abc.Stream, trio.abc.Stream]]:
    """Raw modules ``billing`` (one Unix-socket connection) and ``ledger`` (one on each
    transport, TCP opened first when ``tcp_first``): ``(orch, billing, ledger_ipc,
    ledger_tcp)``, all open and counted by the orchestrator."""
    open_tcp = ChannelOptions(security=SecurityLevel.NONE)  # raw clients, without a token
    async with running(
        raw("billing", kind=ModuleKind.FOREIGN),
        raw("ledger", kind=ModuleKind.FOREIGN, channels=open_tcp),
    ) as run:
        orch = run.orch
        for module in ("billing", "ledger"):
            await orch.module(module).wait_announced()
        billing = await trio.open_unix_socket(orch.endpoints("billing").socket_path or "")
        host, port = (orch.endpoints("ledger").tcp_address or "").rsplit(":", 1)
        ledger_path = orch.endpoints("ledger").socket_path or ""
        if tcp_first:
            ledger_tcp = await trio.open_tcp_stream(host, int(port))
            await orch.wait_channels("ledger", 1)
            ledger_ipc = await trio.open_unix_socket(ledger_path)
        else:
            ledger_ipc = await trio.open_unix_socket(ledger_path)
            ledger_tcp = await trio.open_tcp_stream(host, int(port))
        await orch.wait_channels("ledger", 2)
        try:
            yield orch, billing, ledger_ipc, ledger_tcp
        finally:
            for stream in (billing, ledger_ipc, ledger_tcp):
                await stream.aclose()


async def _send_posts(billing: trio.abc.Stream, payloads: list[bytes]) -> list[uuid.UUID]:
    """Route one request to ``ledger:post`` per payload (JSON text); their ids, in order."""
    sent = []
    for data in payloads:
        request_id = uuid.uuid4()
        sent.append(request_id)
        await billing.send_all(
            encode_module_frame(
                RouteToModule(
                    target_module_id="ledger", target_endpoint="post",
                    request_id=request_id, payload=EncodedMessage(data=data),
                )
            )
        )  # fmt: skip
    return sent


async def test_requests_go_to_the_connection_the_target_last_sent_on() -> None:
    with trio.fail_after(20):
        async with _ledger_on_two_connections(tcp_first=False) as (orch, billing, _, ledger_tcp):
            # The ledger speaks on TCP (a route to a module that is not there).
            await ledger_tcp.send_all(
                encode_module_frame(
                    RouteToModule(
                        target_module_id="nobody", target_endpoint="x",
                        request_id=uuid.uuid4(), payload=EncodedMessage(data=b"{}"),
                    )
                )
            )  # fmt: skip
            while (await orch.routing_statistics()).unroutable < 1:  # noqa: ASYNC110 (hub state)
                await trio.sleep(0.01)
            sent = await _send_posts(billing, [b"{}"] * 4)
            at_tcp = FrameDecoder()
            for request_id in sent:  # every one on TCP, in order
                assert str(request_id).encode() in await _next(ledger_tcp, at_tcp)


def _timed_payload(budget_ms: int) -> EncodedMessage:
    """A request payload as pywatt writes one whose caller waits ``budget_ms``."""
    return EncodedMessage(
        data=b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"n":1},"metadata":'
        b'{"destination":"post","properties":{"pywatt_deadline_ms":'
        + str(budget_ms).encode()
        + b',"pywatt_reply":"result"}}}'
    )


async def test_the_hop_honours_the_callers_budget() -> None:
    with trio.fail_after(20):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await trio.open_unix_socket(orch.endpoints("billing").socket_path or "")
            ledger = await trio.open_unix_socket(orch.endpoints("ledger").socket_path or "")
            await orch.wait_channels("billing")
            await orch.wait_channels("ledger")
            at_billing, at_ledger = FrameDecoder(), FrameDecoder()

            def route(budget_ms: int) -> tuple[uuid.UUID, bytes]:
                request_id = uuid.uuid4()
                frame = encode_module_frame(
                    RouteToModule(
                        target_module_id="ledger", target_endpoint="post",
                        request_id=request_id, payload=_timed_payload(budget_ms),
                    )
                )  # fmt: skip
                return request_id, frame

            def reply(request_id: uuid.UUID) -> bytes:
                return encode_module_frame(
                    RouteToModule(
                        target_module_id="billing", target_endpoint=REPLY_ENDPOINT,
                        request_id=request_id, payload=EncodedMessage(data=b'{"Ok":2}'),
                    )
                )  # fmt: skip

            # No budget left: not forwarded (the caller has given up already).
            _, spent = route(0)
            await billing.send_all(spent)
            # A short budget: forwarded, and forgotten when it is spent, so the reply that
            # comes after it is dropped at the hop as late.
            short_id, short = route(100)
            await billing.send_all(short)
            forwarded = await _next(ledger, at_ledger)
            assert str(short_id).encode() in forwarded
            assert b'"original_request_id"' in forwarded
            await trio.sleep(0.3)  # past the caller's deadline: the condition under test
            await ledger.send_all(reply(short_id))
            # A long budget: forwarded and answered as usual (and it overtakes nothing:
            # the billing side sees this reply first and only).
            long_id, long = route(30_000)
            await billing.send_all(long)
            forwarded = await _next(ledger, at_ledger)
            assert str(long_id).encode() in forwarded
            await ledger.send_all(reply(long_id))
            response = await _next(billing, at_billing)
            assert str(long_id).encode() in response
            stats = await orch.routing_statistics()
            assert (stats.routed, stats.replies, stats.late_replies, stats.expired) == (
                2, 1, 1, 1,
            )  # fmt: skip
            await billing.aclose()
            await ledger.aclose()


async def test_a_target_that_sent_nothing_gets_everything_on_one_connection_in_order() -> None:
    """Two connections and not a frame sent on either: every request goes to the Unix socket
    (opened second), in order (taking turns between the two let a small frame on one
    overtake a big one on the other)."""
    with trio.fail_after(20):
        async with _ledger_on_two_connections(tcp_first=True) as (orch, billing, ledger_ipc, _):
            sizes = (200_000, 10, 200_000, 10, 10, 200_000)
            sent = await _send_posts(billing, [b'"' + b"x" * size + b'"' for size in sizes])
            at_ipc = FrameDecoder()
            for request_id in sent:  # every one on the Unix socket, in order
                assert str(request_id).encode() in await _next(ledger_ipc, at_ipc)
            assert (await orch.routing_statistics()).routed == len(sent)
