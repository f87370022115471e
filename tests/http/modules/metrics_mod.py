"""A module with a PostgreSQL pool and a Redis cache (from ``DATABASE_URL`` / ``REDIS_URL``),
serving ``/work`` (one query, two cache reads and a request to its own endpoint ``ping``)
and its own counter on ``/metrics``."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pywatt import AppState, pywatt_module


@pywatt_module(
    metrics=True,
    database_config={"type": "postgres", "url": os.environ["DATABASE_URL"]},
    cache_config={"type": "redis", "url": os.environ["REDIS_URL"], "namespace": "metrics-test"},
)
async def create_app(state: AppState[None]) -> Any:
    orders = Counter("shop_orders", "Orders taken.", registry=state.metrics.registry)
    await state.serve("ping", lambda request: request)

    async def work(request: Request) -> JSONResponse:
        rows = await state.execute_query("SELECT 1 AS one")
        await state.cache.set("k", "v")
        hit, miss = await state.cache.get("k"), await state.cache.get("nope")
        assert await state.send_request(f"{state.module_id}:ping", 1) == 1
        orders.inc()
        return JSONResponse({"rows": len(rows), "hit": hit == "v", "miss": miss is None})

    return Starlette(routes=[Route("/work/{kind}", work)])


if __name__ == "__main__":
    raise SystemExit(create_app.run())
