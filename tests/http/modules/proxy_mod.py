"""A module whose JWT-protected endpoint is validated by the orchestrator (proxy mode)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.http import HttpConfig, serve_app
from pywatt.jwt import JwtConfig, extract_jwt_claims, start_jwt


async def private(request: Request) -> JSONResponse:
    claims = extract_jwt_claims(request, "starlette")
    body: dict[str, Any] = {"sub": claims.sub}
    return JSONResponse(body)


app = Starlette(routes=[Route("/private", private)])


@pywatt_module(endpoints=[AnnouncedEndpoint("/private", ["GET"], auth="jwt")])
async def create_app(state: AppState[None]) -> None:
    config = JwtConfig(validation="proxy", key_secrets="JWT_SECRET", issuer="pywatt-tests")
    await start_jwt(state, config)
    await serve_app(state, app, HttpConfig(jwt_paths=("/private",)))


if __name__ == "__main__":
    raise SystemExit(create_app.run())
