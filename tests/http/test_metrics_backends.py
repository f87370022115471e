"""A module's /metrics with real PostgreSQL and Redis behind it: every family parses with
prometheus_client's parser, and the pool, cache, router, secrets, channels, HTTP and the
module's own counter are all there."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import trio

from pywatt.testing import open_module

from .prom import families, samples, value

MODULE = Path(__file__).parent / "modules" / "metrics_mod.py"


async def test_every_family_of_a_module_with_a_pool_and_a_cache() -> None:
    env = {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    with trio.fail_after(60):
        async with open_module(MODULE, env=env) as module:
            base = f"http://{module.announce.listen}"
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(3):
                    reply = await client.get(f"{base}/work/a")
                    assert reply.json() == {"rows": 1, "hit": True, "miss": True}
                page = (await client.get(f"{base}/metrics")).text
    kinds = families(page)
    pool = {"database": "pywatt.db"}
    assert value(page, "pywatt_db_pool_in_use", **pool) == 0
    assert (value(page, "pywatt_db_pool_opened_total", **pool) or 0) >= 1
    assert kinds["pywatt_db_pool_waiting"] == "gauge"
    cache = {"cache": "cache", "backend": "redis"}
    assert value(page, "pywatt_cache_hits_total", **cache) == 3
    assert value(page, "pywatt_cache_misses_total", **cache) == 3
    assert value(page, "pywatt_cache_sets_total", **cache) == 3
    assert value(page, "pywatt_router_handled_total", actor="pywatt.router") == 3
    router = {"actor": "pywatt.router"}
    assert kinds["pywatt_router_request_duration_seconds"] == "histogram"
    assert value(page, "pywatt_router_request_duration_seconds_count", **router) == 3
    assert value(page, "pywatt_router_request_duration_seconds_bucket", le="+Inf", **router) == 3
    assert kinds["pywatt_db_query_duration_seconds"] == "histogram"
    # the three queries of /work (and any the pool ran itself, such as a health check)
    assert (value(page, "pywatt_db_query_duration_seconds_count", **pool) or 0) >= 3
    assert (value(page, "pywatt_db_query_duration_seconds_sum", **pool) or 0) > 0
    assert value(page, "pywatt_secrets_size", actor="pywatt.secrets") is not None
    assert value(page, "pywatt_metrics_db_answered", actor="pywatt.db") == 1
    http = {"transport": "http", "method": "GET", "route": "/work/{kind}", "status": "2xx"}
    assert value(page, "pywatt_http_requests_total", **http) == 3
    assert value(page, "shop_orders_total") == 3  # the module's own, on the same page
    assert value(page, "pywatt_actor_up", actor="pywatt.db") == 1
    for family in (
        "pywatt_channel_up",
        "pywatt_channel_frames_in",
        "pywatt_channel_bytes_in",
        "pywatt_channel_bytes_out",
        "pywatt_actor_handling_seconds",
    ):
        assert family in kinds
    counted = samples(page)

    def total(name: str) -> float:
        return sum(v for (sample, _), v in counted.items() if sample == name)

    # every channel has sent its first frame (the declaration); what came in, if anything
    # yet, is at least its frames' 5-byte headers
    assert total("pywatt_channel_bytes_out_total") > total("pywatt_channel_frames_out_total") * 5
    assert total("pywatt_channel_bytes_in_total") >= total("pywatt_channel_frames_in_total") * 5
