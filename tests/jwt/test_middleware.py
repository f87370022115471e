"""The seed's middleware outside a module: FastAPI/Starlette (ASGI) and Flask (WSGI)."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import pytest
from fastapi import FastAPI, Request
from flask import Flask
from flask import request as flask_request

from pywatt.jwt import (
    Claims,
    JwtConfig,
    NoClaims,
    bearer_token,
    create_jwt_middleware,
    extract_jwt_claims,
)

from .tokens import HS_SECRET, claims, mint, oct_key, unsigned

NOW_CLAIMS = {"sub": "bob", "exp": 4_000_000_000, "team": "red"}


@attrs.frozen
class Team:
    sub: str
    team: str


CONFIG = JwtConfig(secret_key=HS_SECRET, algorithms="HS256", claims_type=Team)
GOOD = mint(oct_key(), "HS256", NOW_CLAIMS)


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(create_jwt_middleware("fastapi", CONFIG, exclude=("/health", "/open")))

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        found = extract_jwt_claims(request, "fastapi")
        assert isinstance(found, Claims)
        return {"sub": found.sub, "team": found.typed.team}

    @app.get("/open")
    async def open_(request: Request) -> dict[str, Any]:
        with pytest.raises(NoClaims):
            extract_jwt_claims(request, "fastapi")
        return {"open": True}

    return app


async def test_fastapi_middleware_accepts_good_tokens_and_refuses_the_rest() -> None:
    transport = httpx.ASGITransport(app=fastapi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        reply = await client.get("/me", headers={"Authorization": f"Bearer {GOOD}"})
        assert reply.status_code == 200
        assert reply.json() == {"sub": "bob", "team": "red"}
        assert (await client.get("/me")).json() == {"error": "Missing Authorization header"}
        reply = await client.get("/me", headers={"Authorization": f"Bearer {unsigned(claims())}"})
        assert reply.status_code == 401
        assert reply.json() == {"error": "Unauthorized: algorithm 'none' not allowed"}
        reply = await client.get("/me", headers={"Authorization": f"Basic {GOOD}"})
        assert reply.status_code == 401
        assert (await client.get("/open")).json() == {"open": True}


def flask_app() -> Flask:
    app = Flask("mw")

    @app.get("/me")
    def me() -> dict[str, Any]:
        found = extract_jwt_claims(flask_request, "flask")
        return {"sub": found.sub, "team": found.typed.team}

    app.wsgi_app = create_jwt_middleware("flask", CONFIG)(app.wsgi_app)  # type: ignore[method-assign]
    return app


def test_flask_middleware_accepts_good_tokens_and_refuses_the_rest() -> None:
    client = flask_app().test_client()
    reply = client.get("/me", headers={"Authorization": f"Bearer {GOOD}"})
    assert reply.status_code == 200
    assert reply.get_json() == {"sub": "bob", "team": "red"}
    reply = client.get("/me")
    assert reply.status_code == 401
    assert reply.get_json() == {"error": "Missing Authorization header"}
    expired = mint(oct_key(), "HS256", {"sub": "bob", "team": "red", "exp": 1})
    reply = client.get("/me", headers={"Authorization": f"Bearer {expired}"})
    assert reply.status_code == 401
    assert reply.get_json() == {"error": "Unauthorized: token expired"}
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_middleware_with_keys_in_secrets_needs_a_module() -> None:
    app = Flask("no-keys")
    app.get("/x")(lambda: "x")
    config = JwtConfig(key_secrets=("JWT_KEYS",))
    app.wsgi_app = create_jwt_middleware("flask", config)(app.wsgi_app)  # type: ignore[method-assign]
    reply = app.test_client().get("/x", headers={"Authorization": f"Bearer {GOOD}"})
    assert reply.status_code == 503


def test_unknown_frameworks_and_bearer_parsing() -> None:
    with pytest.raises(ValueError, match="django"):
        create_jwt_middleware("django", CONFIG)
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def paths_app(**keywords: Any) -> FastAPI:
    """``/public`` and ``/me``, the middleware added with ``keywords`` at add_middleware."""
    app = FastAPI()
    app.add_middleware(create_jwt_middleware("fastapi", CONFIG), **keywords)
    app.get("/public")(lambda: {"public": True})

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"sub": extract_jwt_claims(request, "fastapi").sub}

    return app


async def test_add_middleware_keywords_choose_the_protected_paths() -> None:
    for keywords in ({"protect": ["/me"]}, {"exclude": ["/public"]}):
        transport = httpx.ASGITransport(app=paths_app(**keywords))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reply = await client.get("/public")
            assert reply.status_code == 200, keywords
            assert reply.json() == {"public": True}
            assert (await client.get("/me")).status_code == 401, keywords
            reply = await client.get("/me", headers={"Authorization": f"Bearer {GOOD}"})
            assert reply.json() == {"sub": "bob"}


async def test_add_middleware_keywords_override_those_given_to_create_jwt_middleware() -> None:
    app = FastAPI()
    middleware = create_jwt_middleware("fastapi", CONFIG, protect=["/public"])
    app.add_middleware(middleware, protect=["/me"])
    app.get("/public")(lambda: {"public": True})
    app.get("/me")(lambda: {"me": True})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/public")).status_code == 200
        assert (await client.get("/me")).status_code == 401


async def test_an_unknown_asgi_middleware_keyword_is_a_type_error() -> None:
    transport = httpx.ASGITransport(app=paths_app(public_paths=["/public"]))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(TypeError, match="public_paths"):
            await client.get("/public")


def test_the_wsgi_wrapper_takes_the_same_keywords() -> None:
    app = Flask("paths")
    app.get("/public", endpoint="public")(lambda: {"public": True})
    app.get("/me", endpoint="me")(lambda: {"sub": extract_jwt_claims(flask_request, "flask").sub})
    wrap = create_jwt_middleware("flask", CONFIG)
    app.wsgi_app = wrap(app.wsgi_app, protect=["/me"])  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/public").get_json() == {"public": True}
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers={"Authorization": f"Bearer {GOOD}"}).json == {"sub": "bob"}
    with pytest.raises(TypeError, match="public_paths"):
        wrap(app.wsgi_app, public_paths=["/public"])
    with pytest.raises(TypeError, match="protect must be a list of paths, not the string"):
        wrap(app.wsgi_app, protect="/me")
