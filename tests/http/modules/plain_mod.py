"""A module with a plain ASGI app (no framework): ``/hello``, ``/fail`` (500), and with
``PLAIN_OWN_METRICS=1`` in its environment a ``/metrics`` page of its own. pywatt's
``/health`` and ``/metrics`` are on."""

from __future__ import annotations

import json
import os
from typing import Any

from pywatt import AnnouncedEndpoint, AppState, pywatt_module

OWN_METRICS = os.environ.get("PLAIN_OWN_METRICS") == "1"
OWN_PAGE = (
    b"# HELP app_orders_total Orders taken.\n# TYPE app_orders_total counter\napp_orders_total 7\n"
)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/hello":
        status, kind, body = 200, b"application/json", json.dumps({"hello": "world"}).encode()
    elif path == "/fail":
        status, kind, body = 500, b"text/plain", b"failed on purpose"
    elif path == "/metrics" and OWN_METRICS:
        status, kind, body = 200, b"text/plain; version=0.0.4", OWN_PAGE
    else:
        status, kind, body = 404, b"text/plain", b"not found"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind)]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


@pywatt_module(
    endpoints=[AnnouncedEndpoint("/hello", ["GET"]), AnnouncedEndpoint("/fail", ["GET"])],
    metrics=True,
)
async def create_app(state: AppState[None]) -> Any:
    return app


if __name__ == "__main__":
    raise SystemExit(create_app.run())
