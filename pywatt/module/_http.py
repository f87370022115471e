"""What a module serves over HTTP besides its own app: built-in endpoints, and an app for a
module that only serves those."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from pywatt.http import answer_lifespan
from pywatt.wire import EndpointAnnounce

if TYPE_CHECKING:
    from pywatt.http import HttpConfig

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app of a module that returned none: every path but the built-ins is a 404."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    body = b'{"status":"error","data":null,"message":"not found"}'
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def builtin_endpoints(
    config: HttpConfig, announced: tuple[EndpointAnnounce, ...]
) -> tuple[EndpointAnnounce, ...]:
    """The health and metrics endpoints to announce too, as the Rust SDK's macro does
    (docs/protocol.md §3.4), unless the module announced those paths itself."""
    paths = {endpoint.path for endpoint in announced}
    return tuple(
        EndpointAnnounce(path=path, methods=["GET"])
        for path in (config.health, config.metrics)
        if path is not None and path not in paths
    )
