"""The gateway's pooled HTTP/1.1 client (pywatt.http.Http1Pool) against the real built-in
server on real sockets: connections kept and reused, whole answers (chunked, repeated
headers, HEAD), streamed answers read part by part, an upstream that restarts, a cancelled
request, an unreachable upstream."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from pywatt.http import Http1Pool, Http1Settings, UpstreamError, serve_http1

Scope = dict[str, Any]


class Upstream:
    """An app that says which connection (client port) served each request."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = trio.Event()
        self.entered = trio.Event()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.requests += 1
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        path = scope["path"]
        if path == "/slow":
            self.entered.set()
            await self.release.wait()
        headers = [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"),
                   (b"x-port", str(scope["client"][1]).encode())]  # fmt: skip
        if path == "/chunked":
            await send({"type": "http.response.start", "status": 201, "headers": headers})
            for part in (b"one,", b"two,", b"three"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/trickle":  # a part, then the rest once released
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"one,", "more_body": True})
            await self.release.wait()
            await send({"type": "http.response.body", "body": b"two", "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        text = f"{scope['method']} {path}?{scope['query_string'].decode()} {body.decode()}"
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text.encode()})


@asynccontextmanager
async def upstream(app: Upstream, port: int = 0) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve_http1(
                app, sock, Http1Settings(graceful_timeout=0.5), shutdown=shutdown,
                task_status=task_status,
            )
        )  # fmt: skip
        yield sock.getsockname()[1]
        shutdown.set()


def port_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    return dict(headers)[b"x-port"]


async def test_one_connection_serves_request_after_request_and_answers_come_whole() -> None:
    app = Upstream()
    async with upstream(app) as port:
        pool = Http1Pool(f"127.0.0.1:{port}", max_body_size=1 << 20)
        first = await pool.request("POST", "/echo?x=1", [(b"host", b"svc")], b"hello")
        assert (first.status, first.body) == (200, b"POST /echo?x=1 hello")
        assert [v for k, v in first.headers if k == b"set-cookie"] == [b"a=1", b"b=2"]
        assert pool.idle == 1
        ports = {port_of(first.headers)}
        for n in range(5):
            reply = await pool.request("GET", f"/n/{n}", [], b"")
            assert reply.body == f"GET /n/{n}? ".encode()
            ports.add(port_of(reply.headers))
        assert len(ports) == 1  # kept alive, reused
        chunked = await pool.request("GET", "/chunked", [], b"")
        assert (chunked.status, chunked.body) == (201, b"one,two,three")
        head = await pool.request("HEAD", "/echo", [], b"")
        assert (head.status, head.body) == (200, b"")
        assert app.requests == 8
        pool.close()


async def test_a_streamed_answer_is_read_part_by_part_and_its_connection_reused_after() -> None:
    app = Upstream()
    async with upstream(app) as port:
        pool = Http1Pool(f"127.0.0.1:{port}", max_body_size=1 << 20)
        whole = await pool.request("GET", "/n/1", [], b"", stream_above=0)
        assert (whole.rest, whole.body) == (None, b"GET /n/1? ")  # ended with its head
        reply = await pool.request("GET", "/trickle", [], b"", stream_above=1 << 20)
        assert reply.status == 200
        assert reply.rest is not None  # chunked: it returned with the head
        assert pool.idle == 0  # the connection is the body's until it is read
        body = reply.body or await reply.rest.read()
        assert body == b"one,"  # before the upstream sent the rest
        app.release.set()
        while part := await reply.rest.read():
            body += part
        assert body == b"one,two"
        assert await reply.rest.read() == b""  # and stays ended
        assert pool.idle == 1
        again = await pool.request("GET", "/n/2", [], b"")
        assert port_of(again.headers) == port_of(reply.headers)  # reused, in order
        # closed midway: never reused with the rest of an answer on its way
        app.release = trio.Event()
        cut = await pool.request("GET", "/trickle", [], b"", stream_above=0)
        assert cut.rest is not None
        cut.rest.close()
        assert pool.idle == 0
        after = await pool.request("GET", "/n/3", [], b"")
        assert after.body == b"GET /n/3? "
        assert port_of(after.headers) != port_of(cut.headers)
        app.release.set()
        pool.close()


async def test_an_upstream_that_restarted_gets_each_request_once_on_a_new_connection() -> None:
    first, second = Upstream(), Upstream()
    async with upstream(first) as port:
        pool = Http1Pool(f"127.0.0.1:{port}", max_body_size=1 << 20)
        await pool.request("GET", "/before", [], b"")
        assert pool.idle == 1
    # The upstream went away (its connections with it) and came back on the same port.
    async with upstream(second, port):
        reply = await pool.request("POST", "/after", [], b"once")
        assert reply.body == b"POST /after? once"
        assert second.requests == 1  # never sent on the dead connection, never twice
    with pytest.raises(UpstreamError, match=f"127.0.0.1:{port}"):
        await pool.request("GET", "/gone", [], b"")  # nobody listens now


async def test_a_cancelled_request_closes_its_connection_and_the_next_one_is_served() -> None:
    app = Upstream()
    async with upstream(app) as port:
        pool = Http1Pool(f"127.0.0.1:{port}", max_body_size=1 << 20)
        with trio.move_on_after(0.2) as scope:
            await pool.request("GET", "/slow", [], b"")
        assert scope.cancelled_caught
        assert pool.idle == 0  # not returned with its answer still on the way
        reply = await pool.request("GET", "/fast", [], b"")
        assert reply.body == b"GET /fast? "
        app.release.set()
        pool.close()


async def test_an_answer_over_the_limit_is_an_upstream_error() -> None:
    async with upstream(Upstream()) as port:
        pool = Http1Pool(f"127.0.0.1:{port}", max_body_size=4)
        with pytest.raises(UpstreamError, match="over 4 bytes"):
            await pool.request("POST", "/echo", [], b"a long body")
        assert pool.idle == 0
        with pytest.raises(ValueError, match="not a host:port"):
            Http1Pool("nowhere", max_body_size=1)
