"""The orchestrator's side of channels, driven by a raw client on a module's own endpoints:
owner-only socket files that are cleaned up, heartbeats, malformed frames, broken headers,
and requests routed to a module that is not connected."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
import trio

from pywatt.channels import declaration_frame, encode_module_frame, heartbeat_ack_frame
from pywatt.orchestrator import ChannelOptions, ModuleKind
from pywatt.wire import (
    NEED_DATA,
    FrameDecoder,
    FrameFormat,
    ModuleDeclaration,
    OrchestratorToModule,
    RouteToModule,
    SecurityLevel,
    decode_json,
    decode_reply,
    encode_frame,
    encode_payload,
)

from .helpers import raw, running


async def _frames(stream: trio.abc.Stream, decoder: FrameDecoder) -> OrchestratorToModule:
    while True:
        frame = decoder.next_frame()
        if frame is not NEED_DATA:
            return decode_json(frame.payload, OrchestratorToModule)
        data = await stream.receive_some(65536)
        assert data, "the orchestrator closed the connection"
        decoder.feed(data)


async def test_socket_files_are_owner_only_and_removed_afterwards() -> None:
    with trio.fail_after(15):
        async with running(raw("billing", kind=ModuleKind.FOREIGN)) as run:
            await run.orch.module("billing").wait_announced()
            path = run.orch.endpoints("billing").socket_path
            assert path is not None
            mode = os.stat(path).st_mode
            assert stat.S_ISSOCK(mode)
            assert stat.S_IMODE(mode) == 0o600
            assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert not await trio.Path(path).exists()
    assert not await trio.Path(path).parent.exists()


@pytest.mark.slow
async def test_a_connection_is_its_module_gets_heartbeats_and_survives_malformed_frames() -> None:
    with trio.fail_after(15):
        async with running(raw("billing", kind=ModuleKind.FOREIGN)) as run:
            orch = run.orch
            await orch.module("billing").wait_announced()
            path = orch.endpoints("billing").socket_path
            assert path is not None
            stream = await trio.open_unix_socket(path)
            decoder = FrameDecoder()
            await stream.send_all(heartbeat_ack_frame())
            (conn,) = await orch.wait_channels("billing")
            assert conn.label.startswith("billing/ipc")
            await stream.send_all(encode_frame(FrameFormat.JSON, b'{"op":"nonsense"}'))
            await stream.send_all(encode_frame(FrameFormat.JSON, b"not json"))
            # The channel goes on: heartbeats keep coming and their round trip is measured.
            message = await _frames(stream, decoder)
            assert message.OP == "heartbeat"
            await stream.send_all(heartbeat_ack_frame())
            for _ in range(50):
                (conn,) = await orch.channels("billing")
                if conn.latency_ms is not None:
                    break
                await trio.sleep(0.05)
            assert conn.malformed == 2
            assert conn.latency_ms is not None
            # Reported in one line, with the count, once the connection has ended.
            await stream.aclose()
            report = f"{conn.label} sent 2 malformed frames, each refused"
            while report not in run.text():  # noqa: ASYNC110 (the listener writes it next)
                await trio.sleep(0.01)
            assert "closed it" not in run.text()


async def test_a_broken_frame_header_closes_the_connection() -> None:
    open_tcp = ChannelOptions(security=SecurityLevel.NONE)  # a raw client, without a token
    with trio.fail_after(15):
        async with running(raw("billing", kind=ModuleKind.FOREIGN, channels=open_tcp)) as run:
            orch = run.orch
            await orch.module("billing").wait_announced()
            port = orch.endpoints("billing").tcp_port
            assert port is not None
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(heartbeat_ack_frame())
            await orch.wait_channels("billing")
            await stream.send_all(b"\x00\x00\x00\x01\x07x")  # format code 7
            while await stream.receive_some(65536):
                pass  # heartbeats may come first; then the orchestrator closes it
            for _ in range(50):
                if not await orch.channels("billing"):
                    break
                await trio.sleep(0.05)
            assert await orch.channels("billing") == []
            assert "has format code 7" in run.text()


async def test_a_request_to_a_module_without_a_channel_gets_an_error_reply() -> None:
    with trio.fail_after(15):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            await orch.module("billing").wait_announced()
            path = orch.endpoints("billing").socket_path
            assert path is not None
            stream = await trio.open_unix_socket(path)
            await stream.send_all(declaration_frame(ModuleDeclaration(version="0.1.0")))
            payload = encode_payload({"x": 1})
            route = RouteToModule(
                target_module_id="ledger", target_endpoint="post",
                request_id=uuid.uuid4(), payload=payload,
            )  # fmt: skip
            await stream.send_all(encode_module_frame(route))
            decoder = FrameDecoder()
            while True:
                message = await _frames(stream, decoder)
                if message.OP == "routed_module_response":
                    break
            error = decode_reply(message.payload.data, object)  # type: ignore[attr-defined]
            assert error.error_type == "ModuleUnavailable"  # type: ignore[union-attr]
            assert error.module == "ledger"  # type: ignore[union-attr]
            assert message.request_id == route.request_id  # type: ignore[attr-defined]


async def test_a_request_to_a_module_the_orchestrator_does_not_run_gets_no_such_module() -> None:
    with trio.fail_after(15):
        async with running(raw("billing", kind=ModuleKind.FOREIGN)) as run:
            orch = run.orch
            await orch.module("billing").wait_announced()
            path = orch.endpoints("billing").socket_path
            assert path is not None
            stream = await trio.open_unix_socket(path)
            await stream.send_all(declaration_frame(ModuleDeclaration(version="0.1.0")))
            route = RouteToModule(
                target_module_id="ledger", target_endpoint="post",
                request_id=uuid.uuid4(), payload=encode_payload({"x": 1}),
            )  # fmt: skip
            await stream.send_all(encode_module_frame(route))
            decoder = FrameDecoder()
            while True:
                message = await _frames(stream, decoder)
                if message.OP == "routed_module_response":
                    break
            error = decode_reply(message.payload.data, object)  # type: ignore[attr-defined]
            assert error.error_type == "NoSuchModule"  # type: ignore[union-attr]
            assert error.message == "no module named 'ledger'"  # type: ignore[union-attr]
            assert error.module == "ledger"  # type: ignore[union-attr]
