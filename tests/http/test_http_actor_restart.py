"""Let it crash: the ``pywatt.http`` actor crashes mid-traffic, its supervisor restarts it,
and clients on its listen address are answered again without anyone re-wiring anything."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import trio

import actors
from pywatt.http import HTTP_ACTOR, HttpConfig, HttpServer, ServeHttp
from pywatt.wire import SocketAddress


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_the_http_actor_restarts_mid_traffic_and_serves_again() -> None:
    port = free_port()
    listen = SocketAddress(ipaddress.IPv4Address("127.0.0.1"), port)
    events: list[actors.LifecycleEvent] = []
    spec = actors.ChildSpec(
        HTTP_ACTOR, lambda: HttpServer(app, HttpConfig(), module_id="m", listen=listen)
    )
    async with actors.open_actor_system() as system:
        system.events.subscribe(events.append)
        await system.start_supervisor(actors.SupervisorSpec("services", [spec]))
        answered: list[int] = []
        failed: list[str] = []
        stop = trio.Event()

        async def traffic() -> None:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                while not stop.is_set():
                    try:
                        reply = await client.get(f"/r{len(answered)}")
                    except httpx.TransportError as exc:  # the restart window
                        failed.append(type(exc).__name__)
                        await trio.sleep(0.01)
                        continue
                    assert reply.text == f"/r{len(answered)}"
                    answered.append(reply.status_code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(traffic)
            with trio.fail_after(20):
                while len(answered) < 20:  # noqa: ASYNC110 (the client task's progress)
                    await trio.sleep(0.01)
            # A malformed request makes the answering task fail: the incarnation crashes.
            await system.tell(HTTP_ACTOR, ServeHttp(None))  # type: ignore[arg-type]
            with trio.fail_after(20):
                while not any(isinstance(e, actors.Crashed) for e in events):  # noqa: ASYNC110
                    await trio.sleep(0.01)
                crashed_at = len(answered)
                while len(answered) < crashed_at + 20:  # noqa: ASYNC110
                    await trio.sleep(0.01)
            stop.set()
        started = [e for e in events if isinstance(e, actors.Started) and e.name == HTTP_ACTOR]
        assert [e.incarnation for e in started][-2:] == [1, 2]
        assert set(answered) == {200}
