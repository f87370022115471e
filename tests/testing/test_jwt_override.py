"""The JWT middleware under a plain Starlette/FastAPI TestClient and a Flask test client:
keys kept in secrets cannot be read there (503), until ``override_jwt`` supplies a test key
that ``jwt_token`` signs with; the config's claim checks still apply."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask
from flask import request as flask_request

from pywatt.jwt import JwtConfig, create_jwt_middleware, extract_jwt_claims
from pywatt.testing import TEST_JWT_KEY, JwtOverride, jwt_token, override_jwt

# Keys in a secret, as a module keeps them: outside a module nothing can read it.
CONFIG = JwtConfig(key_secrets="JWT_SECRET", issuer="me")


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(create_jwt_middleware("fastapi", CONFIG), protect=["/me"])
    app.get("/public")(lambda: {"public": True})

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"sub": extract_jwt_claims(request, "fastapi").sub}

    return app


def flask_app() -> Flask:
    app = Flask("override")
    app.get("/public", endpoint="public")(lambda: {"public": True})
    app.get("/me", endpoint="me")(lambda: {"sub": extract_jwt_claims(flask_request, "flask").sub})
    app.wsgi_app = create_jwt_middleware("flask", CONFIG)(app.wsgi_app, protect=["/me"])  # type: ignore[method-assign]
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_plain_testclient_gets_a_key_and_claims_through_override_jwt() -> None:
    with TestClient(fastapi_app()) as client:
        good = jwt_token({"sub": "alice", "iss": "me"})
        assert client.get("/me", headers=bearer(good)).status_code == 503  # no key here
        with override_jwt() as override:
            assert override.key == TEST_JWT_KEY
            assert client.get("/public").json() == {"public": True}
            reply = client.get("/me", headers=bearer(good))
            assert reply.status_code == 200
            assert reply.json() == {"sub": "alice"}
            reply = client.get("/me", headers=bearer(override.token(sub="bob", iss="me")))
            assert reply.json() == {"sub": "bob"}
            assert client.get("/me").json() == {"error": "Missing Authorization header"}
            # the config's claim checks still apply, and only the test key verifies
            reply = client.get("/me", headers=bearer(jwt_token({"sub": "alice", "iss": "x"})))
            assert reply.json() == {"error": "Unauthorized: invalid claim 'iss'"}
            forged = jwt_token({"sub": "alice", "iss": "me"}, key="another-key-0123456789abcdef")
            assert client.get("/me", headers=bearer(forged)).json() == {
                "error": "Unauthorized: bad signature"
            }
            expired = jwt_token({"sub": "alice", "iss": "me", "exp": 1})
            assert client.get("/me", headers=bearer(expired)).status_code == 401
        assert client.get("/me", headers=bearer(good)).status_code == 503


def test_a_flask_test_client_gets_the_same_override() -> None:
    client = flask_app().test_client()
    good = jwt_token({"sub": "alice", "iss": "me"})
    assert client.get("/me", headers=bearer(good)).status_code == 503
    with override_jwt("a-key-of-the-tests-own-0123456789abcdef"):
        assert client.get("/me", headers=bearer(good)).status_code == 401
        mine = jwt_token(
            {"sub": "carol", "iss": "me"}, key="a-key-of-the-tests-own-0123456789abcdef"
        )
        assert client.get("/me", headers=bearer(mine)).json == {"sub": "carol"}
    assert client.get("/public").json == {"public": True}


def test_the_plugin_fixtures_sign_and_override_with_one_key(
    jwt_override: JwtOverride, jwt_token: Any, pywatt_jwt_key: str
) -> None:
    assert jwt_override.key == pywatt_jwt_key == TEST_JWT_KEY
    with TestClient(fastapi_app()) as client:
        reply = client.get("/me", headers=bearer(jwt_token({"sub": "dave", "iss": "me"})))
        assert reply.json() == {"sub": "dave"}
