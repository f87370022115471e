"""A web module: a FastAPI app with a public endpoint and one that needs a JWT.

The app is served by the module's ``pywatt.http`` actor on the InitBlob's listen address
(hypercorn on trio) and over HTTP-over-IPC; ``/api/me`` is announced with ``auth="jwt"``,
so the ``pywatt.jwt`` actor checks its bearer token (HS256, key from the ``JWT_SECRET``
secret, issuer ``pywatt-demo``) before the app sees the request. ``/health`` and
``/metrics`` are built in.

Run it under the embedded orchestrator and ask its gateway::

    pywatt run examples/web.py --secret JWT_SECRET=...
    curl http://127.0.0.1:<orchestrator api port>/api/hello

``examples/demo_http.sh`` does that, with and without a valid token.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.jwt import JwtConfig, extract_jwt_claims

ENDPOINTS = [
    AnnouncedEndpoint("/api/hello", ["GET"]),
    AnnouncedEndpoint("/api/me", ["GET"], auth="jwt"),
]
JWT = JwtConfig(key_secrets=("JWT_SECRET",), issuer="pywatt-demo", audience="pywatt-web")

app = FastAPI(title="pywatt web example")


@app.get("/api/hello")
async def hello() -> dict[str, Any]:
    return {"message": "hello from a pywatt module"}


@app.get("/api/me")
async def me(request: Request) -> dict[str, Any]:
    claims = extract_jwt_claims(request, "fastapi")
    return {"user": claims.sub, "roles": claims.get("roles", [])}


@pywatt_module(secrets=["JWT_SECRET"], endpoints=ENDPOINTS, jwt_config=JWT, metrics=True)
async def create_app(state: AppState[None]) -> FastAPI:
    return app  # served on the InitBlob's listen address and over stdio; /api/me needs a JWT


if __name__ == "__main__":
    raise SystemExit(create_app.run())
