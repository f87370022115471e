"""Port negotiation on stdio (docs/protocol.md §8): any port, a specific free one, a busy one."""

from __future__ import annotations

import socket

import pytest
import trio

from pywatt.wire import SocketAddress

from .helpers import events, raw, running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_port_request_any_specific_and_busy() -> None:
    wanted = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        spec = raw(
            "app",
            "--port-request", "any",
            "--port-request", str(wanted),
            "--port-request", str(busy_port),
        )  # fmt: skip
        with trio.fail_after(10):
            async with running(spec) as run:
                app = run.orch.module("app")
                await app.wait_announced()
    any_reply, wanted_reply, busy_reply = [e["reply"] for e in events(app, "port_response")]
    assert all(e["matches"] for e in events(app, "port_response"))
    blob = app.init_blob
    assert blob is not None
    assert isinstance(blob.listen, SocketAddress)
    assert any_reply["success"] is True
    assert any_reply["port"] not in (0, blob.listen.port, wanted)
    assert any_reply["error_message"] is None
    assert wanted_reply == {**wanted_reply, "success": True, "port": wanted}
    assert busy_reply["success"] is False
    assert busy_reply["port"] == 0
    assert busy_reply["error_message"] == f"port {busy_port} is not available: in use"


async def test_two_modules_never_get_the_same_port() -> None:
    specs = [raw(f"m{i}", "--port-request", "any", "--port-request", "any") for i in range(3)]
    with trio.fail_after(10):
        async with running(*specs) as run:
            for handle in run.orch.modules:
                await handle.wait_announced()
    ports = []
    for handle in run.orch.modules:
        assert handle.init_blob is not None
        assert isinstance(handle.init_blob.listen, SocketAddress)
        ports.append(handle.init_blob.listen.port)
        ports.extend(e["reply"]["port"] for e in events(handle, "port_response"))
    assert len(ports) == len(set(ports)) == 9


async def test_the_orchestrator_api_port_is_the_http_gateway() -> None:
    with trio.fail_after(10):
        async with running(raw("probe")) as run:
            api_port = int(run.orch.orchestrator_api.rsplit(":", 1)[1])
            # The gateway answers there (no module announced this path: a JSON 404) ...
            stream = await trio.open_tcp_stream("127.0.0.1", api_port)
            async with stream:
                await stream.send_all(
                    b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                response = b""
                while chunk := await stream.receive_some():
                    response += chunk
            assert response.startswith(b"HTTP/1.1 404")
            # ... and nobody else can take the port.
            with socket.socket() as sock, pytest.raises(OSError, match="Address already in use"):
                sock.bind(("127.0.0.1", api_port))
