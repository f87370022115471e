"""A channel connection against a fake orchestrator on real sockets: heartbeats, the
declaration, limits, liveness, reconnection, TLS and giving up."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from pywatt.channels import (
    ChannelConfig,
    ConnectionStatus,
    FixedInterval,
    NoReconnect,
    SendFrame,
    TlsSettings,
    connection_name,
)
from pywatt.wire import (
    ChannelType,
    FrameFormat,
    Heartbeat,
    HeartbeatAck,
    ModuleDeclaration,
    encode_frame,
)

from .fake import fake_orchestrator, running_channels

FAST = FixedInterval(delay_s=0.05, max_attempts=None)


async def test_heartbeats_are_answered_on_the_channel_and_the_declaration_comes_first(
    tmp_path: Path,
) -> None:
    with trio.fail_after(10):
        for kind in (ChannelType.TCP, ChannelType.IPC):
            async with fake_orchestrator(kind, str(tmp_path)) as orch:
                declaration = ModuleDeclaration(version="0.1.0", auth_token="tok")
                config = ChannelConfig(kind=kind, address=orch.address, declaration=declaration)
                async with running_channels([config]) as (_, directory):
                    peer = await orch.next_peer()
                    first = await peer.read()
                    assert isinstance(first.content, HeartbeatAck)
                    props = first.metadata.properties
                    assert ModuleDeclaration.from_properties(props) == declaration
                    await peer.send(Heartbeat())
                    ack = await peer.read()
                    assert isinstance(ack.content, HeartbeatAck)
                    assert ack.metadata.properties is None
                    (state,) = directory.statistics()
                    assert state.status is ConnectionStatus.CONNECTED
                    assert state.heartbeats == 1


async def test_a_malformed_payload_is_refused_and_the_channel_goes_on() -> None:
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([config]) as (system, directory):
                peer = await orch.next_peer()
                bad = encode_frame(FrameFormat.JSON, b'{"op":"no_such_op"}')
                garbage = encode_frame(FrameFormat.JSON, b"\xff not json")
                heartbeat = encode_frame(FrameFormat.JSON, b'{"op":"heartbeat"}')
                await peer.send_raw(bad + garbage + heartbeat)
                assert isinstance((await peer.read()).content, HeartbeatAck)
                (state,) = directory.statistics()
                assert state.malformed == 2
                assert state.connects == 1
                # The write path still works after the refusals.
                name = connection_name(config, 0)
                await system.tell(name, SendFrame(encode_frame(FrameFormat.JSON, b"{}")))
                assert (await peer.stream.receive_some(100)) == b"\x00\x00\x00\x02\x01{}"


@pytest.mark.parametrize(
    "header",
    [b"\x00\x00\x00\x02\x09{}", b"\xff\xff\xff\xff\x01"],
    ids=["bad-format-code", "oversized"],
)
async def test_a_broken_frame_header_closes_and_reconnects(header: bytes) -> None:
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address, policy=FAST)
            async with running_channels([config]) as (_, directory):
                first = await orch.next_peer()
                await first.send_raw(header)
                await first.read_until_eof()  # the module closed it
                second = await orch.next_peer()
                await second.send(Heartbeat())
                assert isinstance((await second.read()).content, HeartbeatAck)
                (state,) = directory.statistics()
                assert state.connects == 2
                assert state.failures == 1
                assert "unusable frame stream" in (state.last_error or "")


async def test_a_heartbeat_silent_orchestrator_is_detected_and_the_channel_reconnects() -> None:
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(
                kind=ChannelType.TCP, address=orch.address, policy=FAST, heartbeat_interval=0.1
            )
            async with running_channels([config]) as (_, directory):
                silent = await orch.next_peer()
                started = trio.current_time()
                await silent.read_until_eof()  # we say nothing; the module gives up on us
                assert trio.current_time() - started >= 0.3
                second = await orch.next_peer()
                await second.send(Heartbeat())
                assert isinstance((await second.read()).content, HeartbeatAck)
                (state,) = directory.statistics()
                assert "PeerSilent" in (state.last_error or "")
                assert state.connects == 2


async def test_a_required_channel_that_gives_up_takes_the_module_down(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    missing = str(tmp_path / "nobody-listens.sock")
    required = ChannelConfig(
        kind=ChannelType.IPC,
        address=missing,
        required=True,
        policy=FixedInterval(delay_s=0.01, max_attempts=3),
        connect_timeout=1.0,
    )
    with trio.fail_after(10):
        async with running_channels([required], on_fatal=errors.append) as (_, directory):
            while not errors:
                await directory.wait_changed()
    (error,) = errors
    assert "required channel pywatt.channels.ipc.0" in str(error)
    assert "gave up after 3 failed attempt(s)" in str(error)
    (state,) = directory.statistics()
    assert state.status is ConnectionStatus.FAILED


async def test_an_optional_channel_that_gives_up_stops_alone(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    optional = ChannelConfig(
        kind=ChannelType.IPC, address=str(tmp_path / "none.sock"), policy=NoReconnect()
    )
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            good = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([optional, good], on_fatal=errors.append) as (
                _system,
                directory,
            ):
                peer = await orch.next_peer()
                states = {s.name: s for s in directory.states.values()}
                while states["pywatt.channels.ipc.0"].status is not ConnectionStatus.FAILED:
                    await directory.wait_changed()
                await peer.send(Heartbeat())
                assert isinstance((await peer.read()).content, HeartbeatAck)
                assert states["pywatt.channels.tcp.0"].connects == 1
                assert directory.pick() is states["pywatt.channels.tcp.0"]
    assert errors == []


async def test_a_pool_opens_its_size_in_connections_and_takes_turns() -> None:
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address, pool_size=3)
            async with running_channels([config]) as (_, directory):
                peers = [await orch.next_peer() for _ in range(3)]
                while not all(s.connected for s in directory.states.values()):
                    await directory.wait_changed()
                picked = {directory.pick().name for _ in range(6)}  # type: ignore[union-attr]
                assert len(picked) == 3
                assert len(peers) == 3


async def test_the_unix_socket_is_preferred_and_tcp_is_the_fallback(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with (
            fake_orchestrator(ChannelType.TCP) as tcp,
            fake_orchestrator(ChannelType.IPC, str(tmp_path)) as ipc,
        ):
            configs = [
                ChannelConfig(kind=ChannelType.TCP, address=tcp.address),
                ChannelConfig(kind=ChannelType.IPC, address=ipc.address, policy=NoReconnect()),
            ]
            async with running_channels(configs) as (_, directory):
                await tcp.next_peer()
                ipc_peer = await ipc.next_peer()
                while not all(s.connected for s in directory.states.values()):
                    await directory.wait_changed()
                assert directory.pick().kind is ChannelType.IPC  # type: ignore[union-attr]
                await trio.aclose_forcefully(ipc_peer.stream)  # the Unix socket breaks
                while directory.states["pywatt.channels.ipc.0"].connected:
                    await directory.wait_changed()
                assert directory.pick().kind is ChannelType.TCP  # type: ignore[union-attr]


# -- TLS ---------------------------------------------------------------------------------------


async def _tls_orchestrator(
    ca: trustme.CA, nursery: trio.Nursery
) -> tuple[str, trio.MemoryReceiveChannel[trio.SSLStream[trio.SocketStream]]]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    send, receive = trio.open_memory_channel[trio.SSLStream[trio.SocketStream]](4)

    async def loop() -> None:
        while True:
            stream = trio.SSLStream(await listener.accept(), server_context, server_side=True)
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError:
                continue
            await send.send(stream)

    nursery.start_soon(loop)
    return f"127.0.0.1:{listener.socket.getsockname()[1]}", receive


async def test_tls_verifies_the_orchestrator_and_refuses_a_wrong_certificate(
    tmp_path: Path,
) -> None:
    ca, other_ca = trustme.CA(), trustme.CA()
    good_ca, wrong_ca = tmp_path / "ca.pem", tmp_path / "other.pem"
    ca.cert_pem.write_to_path(str(good_ca))
    other_ca.cert_pem.write_to_path(str(wrong_ca))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address, accepted = await _tls_orchestrator(ca, nursery)
            good = ChannelConfig(
                kind=ChannelType.TCP, address=address, tls=TlsSettings(ca_file=str(good_ca))
            )
            async with running_channels([good]) as (_, directory):
                stream = await accepted.receive()
                frame = encode_frame(FrameFormat.JSON, b'{"op":"heartbeat"}')
                await stream.send_all(frame)
                assert b"heartbeat_ack" in await stream.receive_some(4096)
                assert directory.pick() is not None
            wrong = ChannelConfig(
                kind=ChannelType.TCP,
                address=address,
                tls=TlsSettings(ca_file=str(wrong_ca)),
                policy=NoReconnect(),
            )
            async with running_channels([wrong]) as (_, directory):
                (state,) = directory.states.values()
                while state.status is not ConnectionStatus.FAILED:
                    await directory.wait_changed()
                assert "CERTIFICATE_VERIFY_FAILED" in (state.last_error or "")
            nursery.cancel_scope.cancel()


async def test_an_http_request_on_a_channel_goes_through_the_modules_app() -> None:
    from pywatt.http import HttpConfig, http_children
    from pywatt.wire import InitBlob, IpcHttpRequest, IpcHttpResponse

    async def app(scope: dict[str, object], receive: Callable[..., Any], send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = f"you asked for {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    init = InitBlob(orchestrator_api="http://x", module_id="m", env={}, listen="127.0.0.1:0")
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([config]) as (system, _):
                peer = await orch.next_peer()
                request = IpcHttpRequest(
                    request_id="r1", method="GET", uri="/x", headers={}, body=None
                )
                await peer.send(request)  # no app yet: a clear 503
                first = (await peer.read()).content
                assert isinstance(first, IpcHttpResponse)
                assert first.status_code == 503
                for child in http_children(app, HttpConfig(), init):
                    await system.root.start_child(child)
                await peer.send(request)
                second = (await peer.read()).content
                assert isinstance(second, IpcHttpResponse)
                assert (second.request_id, second.status_code) == ("r1", 200)
                assert second.body == b"you asked for /x"
