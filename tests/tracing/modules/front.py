"""The front module of the tracing tests: ``GET /order/{id}`` asks module ``back`` for the
order (an inter-module request) and answers what it said; ``POST /upload`` streams the body
to ``back`` and answers what it counted."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pywatt import AnnouncedEndpoint, AppState, run_module


async def main(state: AppState[Any]) -> Starlette:
    async def order(request: Request) -> JSONResponse:
        number = int(request.path_params["number"])
        found = await state.send_request("back:lookup", {"number": number})
        return JSONResponse(found)

    async def upload(request: Request) -> JSONResponse:
        body = await request.body()
        async with state.open_stream("back:store") as stream:
            await stream.send(body)
        return JSONResponse(stream.reply)

    return Starlette(
        routes=[Route("/order/{number}", order), Route("/upload", upload, methods=["POST"])]
    )


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main,
            endpoints=[
                AnnouncedEndpoint("/order/{number}"),
                AnnouncedEndpoint("/upload", methods=["POST"]),
            ],
        )
    )
