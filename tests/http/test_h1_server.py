"""The built-in HTTP/1.1 server (pywatt.http.serve_http1) on real sockets: keep-alive,
pipelining, streamed bodies both ways, limits answered with a clean 4xx, graceful shutdown."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio

from pywatt.http import Http1Settings, serve_http1

Scope = dict[str, Any]


async def app(scope: Scope, receive: Any, send: Any) -> None:
    """``/echo``: the body's length and a hash-free sample; ``/stream``: three parts;
    ``/slow``: waits for ``release``; ``/boom``: fails; ``/after``: fails after answering."""
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/inject":  # a header value that would split the response
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-evil", b"a\r\nset-cookie: stolen=1")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"never"})
        return
    size = 0
    first = b""
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            return
        body = event.get("body", b"")
        size += len(body)
        first = first or body[:8]
        if not event.get("more_body"):
            break
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/slow":
        scope["state"]["entered"].set()
        await scope["state"]["release"].wait()
    text = f"{scope['method']} {path} {scope['query_string'].decode()} {size} {first!r}"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
    await send({"type": "http.response.body", "body": text.encode()})
    if path == "/after":
        raise RuntimeError("after the answer")


@asynccontextmanager
async def serving(
    settings: Http1Settings | None = None, state: dict[str, Any] | None = None
) -> AsyncIterator[tuple[str, trio.Event]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve_http1(
                app, sock, settings or Http1Settings(), shutdown=shutdown,
                state=state, task_status=task_status,
            )
        )  # fmt: skip
        yield f"127.0.0.1:{port}", shutdown
        shutdown.set()


async def raw(address: str, data: bytes, *, until: bytes) -> bytes:
    """Send ``data`` on a new connection; read until ``until`` has arrived (or EOF)."""
    host, port = address.split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(data)
        received = b""
        with trio.fail_after(10):
            while until not in received:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                received += chunk
        return received


async def test_keep_alive_and_pipelined_requests_answered_in_order() -> None:
    async with serving() as (address, _):
        pipelined = (
            b"GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        out = await raw(address, pipelined, until=b"GET /c  0")
        assert out.count(b"HTTP/1.1 200 OK") == 3
        assert out.index(b"GET /a x=1 0") < out.index(b"POST /b  5") < out.index(b"GET /c  0")
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            for i in range(3):  # one connection, kept
                assert (await client.get(f"/k{i}")).text == f"GET /k{i}  0 b''"


async def test_bodies_stream_both_ways() -> None:
    async def upload() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"u" * 65536

    async with serving() as (address, _), httpx.AsyncClient(base_url=f"http://{address}") as c:
        reply = await c.post("/echo", content=upload())  # chunked, no Content-Length
        assert reply.text == "POST /echo  4194304 b'uuuuuuuu'"
        async with c.stream("GET", "/stream") as streamed:
            assert streamed.headers["transfer-encoding"] == "chunked"
            assert [part async for part in streamed.aiter_raw()] == [b"one,", b"two,", b"three"]
        head = await c.head("/echo")
        assert head.status_code == 200
        assert head.content == b""


async def test_limits_get_a_clean_4xx_and_other_connections_keep_working() -> None:
    settings = Http1Settings(max_header_size=1024, max_body_size=100)
    async with serving(settings) as (address, _):
        big_head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
        assert (await raw(address, big_head, until=b"\r\n\r\n")).startswith(b"HTTP/1.1 431 ")
        big_body = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n"
        assert (await raw(address, big_body, until=b"\r\n\r\n")).startswith(b"HTTP/1.1 413 ")
        garbage = b"NOT HTTP AT ALL\r\n\r\n"
        assert (await raw(address, garbage, until=b"\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            assert (await client.post("/ok", content=b"x" * 100)).status_code == 200


async def test_app_failures_answer_500_or_close_and_expect_continue_is_honoured() -> None:
    async with serving() as (address, _), httpx.AsyncClient(base_url=f"http://{address}") as c:
        assert (await c.get("/boom")).status_code == 500
        injected = await c.get("/inject")
        assert injected.status_code == 500
        assert "set-cookie" not in injected.headers
        assert (await c.get("/after")).status_code == 200  # answered, then failed: logged
        assert (await c.get("/again")).status_code == 200
        expect = b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
        host, port = address.split(":")
        async with await trio.open_tcp_stream(host, int(port)) as stream:
            await stream.send_all(expect)
            with trio.fail_after(10):
                assert (await stream.receive_some(100)).startswith(b"HTTP/1.1 100 Continue")
                await stream.send_all(b"abc")
                answer = b""
                while b"POST /e  3" not in answer:
                    answer += await stream.receive_some(1000)


async def test_graceful_shutdown_lets_the_request_in_progress_finish() -> None:
    release, entered = trio.Event(), trio.Event()
    async with serving(state={"release": release, "entered": entered}) as (address, shutdown):
        host, port = address.split(":")
        async with trio.open_nursery() as nursery:
            answers: list[str] = []

            async def slow() -> None:
                async with httpx.AsyncClient(base_url=f"http://{address}") as client:
                    answers.append((await client.get("/slow")).text)

            idle = await trio.open_tcp_stream(host, int(port))  # a kept-alive, idle connection
            nursery.start_soon(slow)
            with trio.fail_after(10):
                await entered.wait()
            shutdown.set()
            # closed at once (or reset, had it not been accepted yet)
            with trio.fail_after(10), contextlib.suppress(trio.BrokenResourceError):
                assert await idle.receive_some(10) == b""
            release.set()
        assert answers == ["GET /slow  0 b''"]
        with trio.fail_after(10):
            try:
                await trio.open_tcp_stream(host, int(port))
            except OSError:
                pass
            else:
                raise AssertionError("the listener still accepts after shutdown")


async def test_a_stalled_head_gets_408_and_an_idle_connection_is_closed() -> None:
    async with serving(Http1Settings(keep_alive_timeout=0.2)) as (address, _):
        stalled = await raw(address, b"GET / HTTP/1.1\r\nHost: t\r\nX-Half", until=b"\r\n\r\n")
        assert stalled.startswith(b"HTTP/1.1 408 ")
        host, port = address.split(":")
        async with await trio.open_tcp_stream(host, int(port)) as idle:
            with trio.fail_after(10):
                assert await idle.receive_some(10) == b""
