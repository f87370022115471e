"""A module's database, cache, JWT and HTTP parts, switched on by the seed's options."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import attrs
import pytest
import trio
from joserfc import jwt
from joserfc.jwk import OctKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import pywatt
from pywatt import AnnouncedEndpoint, AppState
from pywatt.jwt import BadSignature
from pywatt.wire import AnnounceBlob, EndpointAnnounce, IpcHttpRequest, Shutdown

from .harness import INIT, running_module


async def test_execute_query_and_transactions_on_the_embedded_sqlite() -> None:
    rows: list[Any] = []

    async def main(state: AppState[Any]) -> None:
        await state.execute_query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        async with state.database.transaction() as tx:
            await tx.execute("INSERT INTO users (name) VALUES (?)", ["Alice"])
        with pytest.raises(RuntimeError):
            async with state.database.transaction() as tx:
                await tx.execute("INSERT INTO users (name) VALUES (?)", ["Bob"])
                raise RuntimeError("rolled back")
        rows.extend(await state.execute_query("SELECT name FROM users WHERE id > ?", [0]))

    async with running_module(main, enable_database=True) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert peer.exit_code == 0
    assert rows == [{"name": "Alice"}]


async def test_the_cache_facade_on_the_in_memory_backend() -> None:
    seen: dict[str, Any] = {}

    async def main(state: AppState[Any]) -> None:
        await state.cache_set("user:1", {"name": "Ada"}, ttl=60)
        seen["user"] = await state.cache_get("user:1")
        seen["missing"] = await state.cache_get("nope", "default")
        seen["count"] = await state.cache.increment("visits")

    async with running_module(main, cache_config={"type": "memory", "max_entries": 10}) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert seen == {"user": {"name": "Ada"}, "missing": "default", "count": 1}


async def test_without_a_database_the_facade_says_so() -> None:
    errors: list[BaseException] = []

    async def main(state: AppState[Any]) -> None:
        try:
            await state.execute_query("SELECT 1")
        except pywatt.ConfigError as exc:
            errors.append(exc)

    async with running_module(main) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert "this module has no database" in str(errors[0])


HS_KEY = "module-jwt-test-key-0123456789abcdef"


async def test_validate_jwt_token_with_a_key_from_the_memory_provider() -> None:
    token = jwt.encode(
        {"alg": "HS256"},
        {"sub": "ada", "iss": "tests", "exp": int(time.time()) + 60},
        OctKey.import_key(HS_KEY),
    )
    results: list[Any] = []

    async def main(state: AppState[Any]) -> None:
        results.append((await state.validate_jwt_token(token)).sub)
        with pytest.raises(BadSignature):
            await state.validate_jwt_token(token[:-4] + "AAAA")

    async with running_module(
        main,
        secret_providers=["memory", "orchestrator"],
        jwt_config={"secret_key": HS_KEY, "issuer": "tests"},
    ) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert results == ["ada"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": request.path_params["name"]})


async def test_a_returned_app_is_served_over_http_and_over_stdio_before_the_announce() -> None:
    app = Starlette(routes=[Route("/hello/{name}", _hello)])
    port = _free_port()
    init = attrs.evolve(INIT, listen=f"127.0.0.1:{port}")

    async def main(state: AppState[Any]) -> object:
        return app

    async with running_module(
        main, init=init, endpoints=[AnnouncedEndpoint("/hello/{name}", ["GET"])], metrics=True
    ) as peer:
        announce = await peer.read()
        assert isinstance(announce, AnnounceBlob)
        assert announce.endpoints == [
            EndpointAnnounce(path="/hello/{name}", methods=["GET"]),
            EndpointAnnounce(path="/health", methods=["GET"]),
            EndpointAnnounce(path="/metrics", methods=["GET"]),
        ]
        # Over HTTP on the InitBlob's listen address: the server was up before the announce.
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(
                b"GET /hello/ada HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            response = b""
            while chunk := await stream.receive_some():
                response += chunk
        assert response.startswith(b"HTTP/1.1 200")
        assert response.endswith(b'{"hello":"ada"}')
        # Over stdio (docs/protocol.md §9.1/§9.2), through the same app.
        await peer.send(
            IpcHttpRequest(request_id="r1", method="GET", uri="/hello/bob", headers={}, body=None)
        )
        wrapper = json.loads(await peer.read_raw())
        assert wrapper["content"]["status_code"] == 200
        assert bytes(wrapper["content"]["body"]) == b'{"hello":"bob"}'
        await peer.send(Shutdown())
    assert peer.exit_code == 0
