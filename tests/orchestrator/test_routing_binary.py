"""Requests and replies in the binary form through the orchestrator, driven by raw clients
that declare themselves pywatt (protocol extensions §5.1): between two modules that declared
MessagePack the payload's bytes go on as they came; toward a module that did not (a Rust
module) the same request arrives as the JSON the Rust SDK reads; the caller's budget is
honoured; a code-4 frame in no known form is refused and the connection goes on."""

from __future__ import annotations

import uuid

import trio

from pywatt.channels import declaration_frame, encode_module_frame
from pywatt.orchestrator import ModuleKind, Orchestrator
from pywatt.wire import (
    NEED_DATA,
    REPLY_ENDPOINT,
    EncodedMessage,
    EncodingFormat,
    Frame,
    FrameDecoder,
    FrameFormat,
    ModuleDeclaration,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    binary_route_frame,
    encode_frame,
    encode_json,
    parse_binary_routed,
)

from .helpers import raw, running

PYWATT = ModuleDeclaration(version="0.1.0", formats=frozenset({"json", "msgpack"}))


async def _next(stream: trio.abc.Stream, decoder: FrameDecoder) -> Frame:
    """The next frame that is not a heartbeat."""
    while True:
        frame = decoder.next_frame()
        if frame is NEED_DATA:
            data = await stream.receive_some(65536)
            assert data, "the orchestrator closed the connection"
            decoder.feed(data)
            continue
        if b'"op":"heartbeat"' not in frame.payload:
            return frame


async def _connect(orch: Orchestrator, module_id: str, *, pywatt: bool) -> trio.SocketStream:
    stream = await trio.open_unix_socket(orch.endpoints(module_id).socket_path or "")
    if pywatt:
        await stream.send_all(declaration_frame(PYWATT))
    await orch.wait_channels(module_id)
    return stream


def _request(budget_ms: int, content: bytes = b'{"n":1}') -> EncodedMessage:
    """A request payload as pywatt writes one whose caller waits ``budget_ms``."""
    return EncodedMessage(
        data=b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":' + content
        + b',"metadata":{"destination":"post","properties":{"pywatt_deadline_ms":'
        + str(budget_ms).encode() + b',"pywatt_reply":"result"}}}'
    )  # fmt: skip


async def test_between_pywatt_modules_a_request_and_its_reply_stay_binary() -> None:
    with trio.fail_after(30):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await _connect(orch, "billing", pywatt=True)
            ledger = await _connect(orch, "ledger", pywatt=True)
            at_billing, at_ledger = FrameDecoder(), FrameDecoder()
            # Bytes no JSON list would keep short: every byte value, and a budget.
            payload = _request(30_000, b'"' + bytes(range(35, 127)).replace(b"\\", b"") + b'"')
            request_id = uuid.uuid4()
            await billing.send_all(binary_route_frame("ledger", "post", request_id, payload))
            frame = await _next(ledger, at_ledger)
            assert frame.format is FrameFormat.MSGPACK
            assert parse_binary_routed(frame.payload) == RoutedModuleMessage(
                source_module_id="billing", original_request_id=request_id, payload=payload
            )
            answer = EncodedMessage(data=b'{"Ok":2}')
            await ledger.send_all(binary_route_frame("billing", REPLY_ENDPOINT, request_id, answer))
            frame = await _next(billing, at_billing)
            assert frame.format is FrameFormat.MSGPACK
            assert parse_binary_routed(frame.payload) == RoutedModuleResponse(
                source_module_id="ledger", request_id=request_id, payload=answer
            )
            stats = await orch.routing_statistics()
            assert (stats.routed, stats.replies, stats.binary) == (1, 1, 2)
            await billing.aclose()
            await ledger.aclose()


async def test_toward_a_module_without_msgpack_the_same_request_arrives_as_json() -> None:
    with trio.fail_after(30):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await _connect(orch, "billing", pywatt=True)
            ledger = await _connect(orch, "ledger", pywatt=False)  # a Rust module
            at_billing, at_ledger = FrameDecoder(), FrameDecoder()
            payload = _request(30_000)
            request_id = uuid.uuid4()
            await billing.send_all(binary_route_frame("ledger", "post", request_id, payload))
            frame = await _next(ledger, at_ledger)
            assert frame.format is FrameFormat.JSON
            assert frame.payload == encode_json(
                RoutedModuleMessage(
                    source_module_id="billing", original_request_id=request_id, payload=payload
                )
            )
            # Its reply in the Rust SDK's form reaches the pywatt caller as JSON (it reads both).
            answer = EncodedMessage(data=b"2", format=EncodingFormat.JSON)
            await ledger.send_all(
                encode_module_frame(
                    RouteToModule(
                        target_module_id="billing", target_endpoint=REPLY_ENDPOINT,
                        request_id=request_id, payload=answer,
                    )
                )
            )  # fmt: skip
            frame = await _next(billing, at_billing)
            assert frame.payload == encode_json(
                RoutedModuleResponse(
                    source_module_id="ledger", request_id=request_id, payload=answer
                )
            )
            stats = await orch.routing_statistics()
            assert (stats.routed, stats.replies, stats.binary) == (1, 1, 0)
            await billing.aclose()
            await ledger.aclose()


async def test_a_binary_request_whose_budget_is_spent_is_not_forwarded() -> None:
    with trio.fail_after(30):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await _connect(orch, "billing", pywatt=True)
            ledger = await _connect(orch, "ledger", pywatt=True)
            at_ledger = FrameDecoder()
            spent, live = uuid.uuid4(), uuid.uuid4()
            await billing.send_all(binary_route_frame("ledger", "post", spent, _request(0)))
            await billing.send_all(binary_route_frame("ledger", "post", live, _request(5_000)))
            routed = parse_binary_routed((await _next(ledger, at_ledger)).payload)
            assert isinstance(routed, RoutedModuleMessage)
            assert routed.original_request_id == live  # the spent one never came
            stats = await orch.routing_statistics()
            assert (stats.routed, stats.expired) == (1, 1)
            await billing.aclose()
            await ledger.aclose()


async def test_a_code_4_frame_in_no_known_form_is_refused_and_traffic_goes_on() -> None:
    with trio.fail_after(30):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await _connect(orch, "billing", pywatt=True)
            ledger = await _connect(orch, "ledger", pywatt=True)
            at_ledger = FrameDecoder()
            good = binary_route_frame("ledger", "post", uuid.uuid4(), _request(5_000))
            # The same route with a byte cut from its end: no longer MessagePack of the form.
            await billing.send_all(encode_frame(FrameFormat.MSGPACK, good[5:-1]))
            await billing.send_all(good)
            routed = parse_binary_routed((await _next(ledger, at_ledger)).payload)
            assert isinstance(routed, RoutedModuleMessage)
            (info,) = await orch.channels("billing")
            assert info.malformed == 1
            await billing.aclose()
            await ledger.aclose()
