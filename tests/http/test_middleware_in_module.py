"""Inside a module the seed's middleware asks the module's ``pywatt.jwt`` actor: from the
ASGI app directly, from a Flask worker thread through trio.from_thread."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

import actors
from pywatt.http import HTTP_ACTOR, HttpConfig, HttpServer
from pywatt.jwt import (
    JWT_ACTOR,
    JwtConfig,
    JwtValidatorActor,
    create_jwt_middleware,
    extract_jwt_claims,
)
from pywatt.wire import SocketAddress
from tests.jwt.tokens import mint, oct_key

ACTOR_SECRET = "only-the-actor-knows-this-secret-0000000"
# The middleware's own config names a secret it cannot read outside a module: every 200
# below proves the token was checked by the actor.
MIDDLEWARE_CONFIG = JwtConfig(key_secrets=("JWT_SECRET",))


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(create_jwt_middleware("fastapi", MIDDLEWARE_CONFIG))

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"sub": extract_jwt_claims(request, "fastapi").sub}

    return app


def flask_app() -> Flask:
    app = Flask("in-module")

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"sub": extract_jwt_claims(flask_request, "flask").sub}

    app.wsgi_app = create_jwt_middleware("flask", MIDDLEWARE_CONFIG)(app.wsgi_app)  # type: ignore[method-assign]
    return app


@pytest.mark.parametrize("make_app", [fastapi_app, flask_app], ids=["fastapi", "flask"])
async def test_the_middleware_validates_through_the_jwt_actor(make_app: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    listen = SocketAddress(ipaddress.IPv4Address("127.0.0.1"), port)
    app = make_app()
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: JwtValidatorActor(JwtConfig(secret_key=ACTOR_SECRET)),
                           name=JWT_ACTOR)  # fmt: skip
        await system.spawn(lambda: HttpServer(app, HttpConfig(), module_id="m", listen=listen),
                           name=HTTP_ACTOR)  # fmt: skip
        good = mint(oct_key(ACTOR_SECRET), "HS256", {"sub": "carol", "exp": 4_000_000_000})
        bad = mint(oct_key("some-other-secret-entirely-00000000000"), "HS256",
                   {"sub": "carol", "exp": 4_000_000_000})  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            reply = await client.get("/me", headers={"Authorization": f"Bearer {good}"})
            assert reply.status_code == 200
            assert reply.json() == {"sub": "carol"}
            reply = await client.get("/me", headers={"Authorization": f"Bearer {bad}"})
            assert reply.status_code == 401
            assert reply.json() == {"error": "Unauthorized: bad signature"}
