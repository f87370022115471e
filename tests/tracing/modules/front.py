"""The front module of the tracing tests: ``GET /order/{id}`` asks module ``back`` for the
order (an inter-module request) and answers what it said; ``POST /upload`` streams the body
to ``back`` and answers what it counted; ``GET /ticks`` streams three parts 0.1 s apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
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

    async def ticks(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for n in range(3):
                if n:
                    await trio.sleep(0.1)
                yield b"data: tick %d\n\n" % n

        return StreamingResponse(parts(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/order/{number}", order),
            Route("/upload", upload, methods=["POST"]),
            Route("/ticks", ticks),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main,
            endpoints=[
                AnnouncedEndpoint("/order/{number}"),
                AnnouncedEndpoint("/upload", methods=["POST"]),
                AnnouncedEndpoint("/ticks"),
            ],
        )
    )
