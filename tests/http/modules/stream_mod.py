"""A FastAPI module that streams: Server-Sent Events held open until released, a large
download in parts, and an upload it counts part by part (never holding it whole)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.http import HttpConfig, serve_app

ENDPOINTS = [
    AnnouncedEndpoint("/events", ["GET"]),
    AnnouncedEndpoint("/release", ["POST"]),
    AnnouncedEndpoint("/download", ["GET"]),
    AnnouncedEndpoint("/upload", ["POST"]),
]
PART = 64 * 1024

app = FastAPI()
release = trio.Event()


@app.get("/events")
async def events() -> StreamingResponse:
    async def stream() -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        await release.wait()  # the last event only once the client saw the first
        yield b"data: last\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


@app.post("/release")
async def release_events() -> dict[str, Any]:
    release.set()
    return {"released": True}


@app.get("/download")
async def download(parts: int = 16) -> StreamingResponse:
    async def stream() -> AsyncIterator[bytes]:
        for i in range(parts):
            yield bytes([i % 256]) * PART

    return StreamingResponse(stream(), media_type="application/octet-stream")


@app.post("/upload")
async def upload(request: Request) -> dict[str, Any]:
    size = 0
    largest = 0
    async for part in request.stream():
        size += len(part)
        largest = max(largest, len(part))
    return {"bytes": size, "largest_part": largest}


@pywatt_module(endpoints=ENDPOINTS)
async def create_app(state: AppState[None]) -> None:
    await serve_app(state, app, HttpConfig(max_body_size=1 << 40))


if __name__ == "__main__":
    raise SystemExit(create_app.run())
