"""The ASGI lifespan of an app with nothing to start or stop: one loop for every such app
(the WSGI adapter, a module's built-in 404 app, the orchestrator's gateway)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["answer_lifespan"]


async def answer_lifespan(
    receive: Callable[[], Awaitable[Mapping[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[object]],
) -> None:
    """Answer ``lifespan.startup`` and ``lifespan.shutdown`` at once; returns after the
    shutdown (the server then knows the app is done)."""
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
