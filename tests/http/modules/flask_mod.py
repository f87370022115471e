"""A Flask module: the same endpoints as the FastAPI one, served through the WSGI adapter."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.http import HttpConfig, serve_app
from pywatt.jwt import JwtConfig, extract_jwt_claims, start_jwt

ENDPOINTS = [
    AnnouncedEndpoint("/public", ["GET"]),
    AnnouncedEndpoint("/private", ["GET"], auth="jwt"),
    AnnouncedEndpoint("/echo", ["POST"]),
]

app = Flask(__name__)


@app.get("/public")
def public() -> dict[str, Any]:
    return {"hello": "world", "framework": "flask"}


@app.get("/private")
def private() -> dict[str, Any]:
    claims = extract_jwt_claims(request, "flask")
    return {"sub": claims.sub, "roles": claims.get("roles", [])}


@app.post("/echo")
def echo() -> dict[str, Any]:
    body = request.get_data()
    return {
        "length": len(body),
        "text": body.decode("utf-8", "replace"),
        "content_type": request.headers.get("content-type"),
        "query": request.args.to_dict(),
    }


@pywatt_module(secrets=["JWT_SECRET"], endpoints=ENDPOINTS)
async def create_app(state: AppState[None]) -> None:
    await start_jwt(state, JwtConfig(key_secrets=("JWT_SECRET",), issuer="pywatt-tests"))
    await serve_app(state, app, HttpConfig(jwt_paths=("/private",), max_body_size=64 * 1024))


if __name__ == "__main__":
    raise SystemExit(create_app.run())
