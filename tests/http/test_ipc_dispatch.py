"""HTTP over IPC in-process: the §9.2 wrapper byte for byte, the Rust SDK's header rules,
and a bad request always answered (400/413/500), never a dead module."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

import actors
from pywatt.http import (
    HTTP_ACTOR,
    HttpConfig,
    HttpServer,
    ServeHttp,
    build_scope,
    dispatch,
    stdout_wrapper,
)
from pywatt.link import HttpOverStdio, SendRaw
from pywatt.wire import IpcHttpRequest, IpcHttpResponse, SocketAddress, decode_json_value

VECTORS = Path(__file__).resolve().parents[1] / "wire" / "data" / "vectors.jsonl"


def vector(name: str) -> dict[str, Any]:
    for line in VECTORS.read_text().splitlines():
        entry = json.loads(line)
        if entry["name"] == name:
            return entry  # type: ignore[no-any-return]
    raise LookupError(name)


def request(**fields: Any) -> IpcHttpRequest:
    base: dict[str, Any] = {
        "request_id": "req-1", "method": "GET", "uri": "/", "headers": {}, "body": None,
    }  # fmt: skip
    base.update(fields)
    return IpcHttpRequest(**base)


async def raw_created(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app answering like the conformance vector's module did."""
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b'{"id":7}'})


def test_the_stdout_wrapper_is_byte_exact_with_the_conformance_vector() -> None:
    expected = bytes.fromhex(vector("ipc.send_http_response_wrapper")["hex"])
    line = stdout_wrapper(
        "req-0002", 201, {"content-type": "application/json"}, b'{"id":7}',
        source="mod-auth", message_id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    )  # fmt: skip
    assert line == expected


async def test_a_request_dispatched_through_an_app_yields_the_vectors_bytes() -> None:
    expected = bytes.fromhex(vector("ipc.send_http_response_wrapper")["hex"])
    status, headers, body = await dispatch(
        raw_created, request(request_id="req-0002", method="POST", uri="/items"),
        max_body_size=1024,
    )  # fmt: skip
    line = stdout_wrapper("req-0002", status, headers, body, source="mod-auth",
                          message_id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")  # fmt: skip
    assert line == expected


async def test_response_headers_follow_the_rust_rules() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"X-Upper", b"kept"), (b"x-dup", b"first"), (b"x-dup", b"last"),
            (b"x-bin", "caf\u00e9".encode()), (b"x-tab", b"a\tb"),
        ]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    status, headers, body = await dispatch(app, request(), max_body_size=10)
    assert (status, body) == (200, b"ok")
    assert headers == {"x-upper": "kept", "x-dup": "last", "x-bin": "", "x-tab": "a\tb"}


def test_the_scope_carries_method_path_query_headers_and_body_limit() -> None:
    scope = build_scope(
        request(method="post", uri="/api/items%20x?x=1&y=2", headers={"Content-Type": "a/b"},
                body=b"{}"),
        max_body_size=10,
    )  # fmt: skip
    assert scope["method"] == "POST"
    assert scope["path"] == "/api/items x"
    assert scope["raw_path"] == b"/api/items%20x"
    assert scope["query_string"] == b"x=1&y=2"
    assert scope["headers"] == [(b"content-type", b"a/b")]


@pytest.mark.parametrize(
    ("fields", "status", "word"),
    [
        ({"method": "GE T"}, 400, "method"),
        ({"method": ""}, 400, "method"),
        ({"uri": "no-slash"}, 400, "path"),
        ({"uri": "/a b"}, 400, "uri"),
        ({"uri": ""}, 400, "uri"),
        ({"headers": {"bad header": "x"}}, 400, "header"),
        ({"headers": {"x-ok": "line\r\nbreak"}}, 400, "header"),
        ({"body": b"x" * 11}, 413, "larger"),
    ],
)
async def test_a_bad_request_gets_a_4xx_answer(fields: dict[str, Any], status: int,
                                               word: str) -> None:  # fmt: skip
    got_status, headers, body = await dispatch(raw_created, request(**fields), max_body_size=10)
    assert got_status == status
    assert headers == {"content-type": "application/json"}
    assert word in json.loads(body)["error"]


async def test_an_app_that_raises_or_sends_nothing_gets_500() -> None:
    async def raises(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def silent(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return None

    assert (await dispatch(raises, request(), max_body_size=10))[0] == 500
    assert (await dispatch(silent, request(), max_body_size=10))[0] == 500


# -- the pywatt.http actor with a real app and a recording link ---------------------------


class RecordingLink(actors.Actor[SendRaw]):
    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines

    async def receive(self, message: SendRaw) -> None:
        self.lines.append(message.payload)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


fastapi_app = FastAPI()


@fastapi_app.post("/echo")
async def echo(req: Request) -> dict[str, Any]:
    return {"body": (await req.body()).decode(), "q": req.url.query}


@fastapi_app.get("/boom")
async def boom() -> None:
    raise RuntimeError("handler failure")


flask_app = Flask("ipc-test")


@flask_app.post("/echo")
def flask_echo() -> dict[str, Any]:
    return {"body": flask_request.get_data(as_text=True), "q": flask_request.query_string.decode()}


@asynccontextmanager
async def http_actor(
    app: object, listen: SocketAddress | str | None, config: HttpConfig | None = None
) -> AsyncIterator[tuple[actors.ActorSystem, list[bytes]]]:
    lines: list[bytes] = []
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: RecordingLink(lines), name="pywatt.link")
        await system.spawn(
            lambda: HttpServer(app, config or HttpConfig(), module_id="mod-x", listen=listen),
            name=HTTP_ACTOR,
        )
        yield system, lines


async def wait_lines(lines: list[bytes], count: int) -> list[dict[str, Any]]:
    with trio.fail_after(5):
        while len(lines) < count:  # noqa: ASYNC110 (state of another actor)
            await trio.sleep(0.005)
    return [decode_json_value(line) for line in lines]


@pytest.mark.parametrize("app", [fastapi_app, flask_app], ids=["fastapi", "flask"])
async def test_stdio_requests_go_through_the_same_app_and_bad_ones_do_not_kill_it(
    app: object,
) -> None:
    port = free_port()
    async with http_actor(app, SocketAddress(ipaddress.IPv4Address("127.0.0.1"), port)) as (
        system,
        lines,
    ):
        await system.tell(HTTP_ACTOR, HttpOverStdio(request(method="BAD METHOD")))
        await system.tell(HTTP_ACTOR, HttpOverStdio(request(
            request_id="req-2", method="POST", uri="/echo?a=1", body=b"hi")))  # fmt: skip
        await system.tell(HTTP_ACTOR, HttpOverStdio(request(request_id="req-3", uri="/nope")))
        answers = {a["content"]["request_id"]: a for a in await wait_lines(lines, 3)}
        assert answers["req-1"]["content"]["status_code"] == 400
        echoed = answers["req-2"]["content"]
        assert echoed["status_code"] == 200
        assert json.loads(bytes(echoed["body"])) == {"body": "hi", "q": "a=1"}
        assert answers["req-3"]["content"]["status_code"] == 404
        for answer in answers.values():
            assert set(answer) == {"content", "metadata"}
            meta = answer["metadata"]
            assert meta["properties"] == {"correlation_id": answer["content"]["request_id"]}
            assert meta["source"] == "mod-x"
        # The same app answers on the socket too.
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"http://127.0.0.1:{port}/echo?b=2", content=b"yo")
        assert reply.json() == {"body": "yo", "q": "b=2"}


async def test_a_channel_request_is_answered_with_an_http_response() -> None:
    async with http_actor(fastapi_app, None) as (system, _):
        response = await system.ask(
            HTTP_ACTOR, ServeHttp(request(method="POST", uri="/echo", body=b"c"))
        )
        assert isinstance(response, IpcHttpResponse)
        assert response.status_code == 200
        assert json.loads(response.body or b"") == {"body": "c", "q": ""}
        crashed = await system.ask(HTTP_ACTOR, ServeHttp(request(uri="/boom")))
        assert crashed.status_code == 500


async def test_an_app_is_served_on_a_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "mod.sock")
    async with http_actor(fastapi_app, path):
        transport = httpx.AsyncHTTPTransport(uds=path)
        async with httpx.AsyncClient(transport=transport) as client:
            reply = await client.post("http://mod/echo", content=b"unix")
        assert reply.json() == {"body": "unix", "q": ""}


async def test_bodies_over_the_limit_get_413_on_both_transports() -> None:
    port = free_port()
    config = HttpConfig(max_body_size=100)
    listen = SocketAddress(ipaddress.IPv4Address("127.0.0.1"), port)
    async with http_actor(fastapi_app, listen, config) as (system, lines):
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"http://127.0.0.1:{port}/echo", content=b"x" * 101)
            assert reply.status_code == 413

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
                for _ in range(5):
                    yield b"y" * 50

            reply = await client.post(f"http://127.0.0.1:{port}/echo", content=chunks())
            assert reply.status_code == 413
            reply = await client.post(f"http://127.0.0.1:{port}/echo", content=b"x" * 100)
            assert reply.status_code == 200
        await system.tell(HTTP_ACTOR, HttpOverStdio(request(method="POST", uri="/echo",
                                                            body=b"z" * 101)))  # fmt: skip
        (answer,) = await wait_lines(lines, 1)
        assert answer["content"]["status_code"] == 413


async def test_an_app_whose_startup_fails_fails_the_actors_start() -> None:
    async def bad_lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})

    with pytest.raises(actors.StartFailed) as info:
        async with http_actor(bad_lifespan, None):
            pass
    assert "no database" in str(info.value.__cause__)
