"""A module whose routes use its database and its cache and catch nothing: ``/db`` runs a
query, ``/cache`` sets and reads a key. ``BACKENDS_DATABASE`` and ``BACKENDS_CACHE`` (JSON
in its environment) are its ``database_config`` and ``cache_config``; either may be absent."""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pywatt import AnnouncedEndpoint, AppState, run_module


async def main(state: AppState[Any]) -> Starlette:
    async def database(request: Request) -> JSONResponse:
        row = await state.database.fetch_one("SELECT 41 + 1 AS answer")
        return JSONResponse(row)

    async def cache(request: Request) -> JSONResponse:
        await state.cache_set("visits", 7)
        return JSONResponse({"visits": await state.cache_get("visits")})

    return Starlette(routes=[Route("/db", database), Route("/cache", cache)])


def _config(name: str) -> Any:
    text = os.environ.get(name)
    return json.loads(text) if text else None


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main,
            endpoints=[AnnouncedEndpoint("/db"), AnnouncedEndpoint("/cache")],
            database_config=_config("BACKENDS_DATABASE"),
            cache_config=_config("BACKENDS_CACHE"),
        )
    )
