"""A FastAPI module: a public endpoint, a JWT-protected one, a body echo and a crash."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.http import HttpConfig, serve_app
from pywatt.jwt import JwtConfig, extract_jwt_claims, start_jwt

ENDPOINTS = [
    AnnouncedEndpoint("/public", ["GET"]),
    AnnouncedEndpoint("/private", ["GET"], auth="jwt"),
    AnnouncedEndpoint("/echo", ["POST"]),
    AnnouncedEndpoint("/items/{item_id}", ["GET", "PUT"]),
    AnnouncedEndpoint("/boom", ["GET"]),
]

app = FastAPI()


@app.get("/public")
async def public() -> dict[str, Any]:
    return {"hello": "world", "framework": "fastapi"}


@app.get("/private")
async def private(request: Request) -> dict[str, Any]:
    claims = extract_jwt_claims(request, "fastapi")
    return {"sub": claims.sub, "roles": claims.get("roles", [])}


@app.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    body = await request.body()
    return {
        "length": len(body),
        "text": body.decode("utf-8", "replace"),
        "content_type": request.headers.get("content-type"),
        "query": dict(request.query_params),
    }


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, Any]:
    return {"item": item_id}


@app.put("/items/{item_id}")
async def put_item(item_id: int, request: Request) -> dict[str, Any]:
    return {"item": item_id, "body": (await request.json())}


@app.get("/boom")
async def boom() -> dict[str, Any]:
    raise RuntimeError("the handler failed on purpose")


@pywatt_module(secrets=["JWT_SECRET"], endpoints=ENDPOINTS)
async def create_app(state: AppState[None]) -> None:
    await start_jwt(state, JwtConfig(key_secrets=("JWT_SECRET",), issuer="pywatt-tests"))
    await serve_app(state, app, HttpConfig(jwt_paths=("/private",), metrics="/metrics",
                                           max_body_size=64 * 1024))  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(create_app.run())
