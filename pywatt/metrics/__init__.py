"""A module's metrics on prometheus_client: the actor runtime, channels, router, database
pools, caches, secrets and HTTP, on one registry per actor system that the module's own
metrics can join (docs/metrics.md).

Exports are lazy: :class:`Histogram` (what the router and the pools count latencies in) does
not import prometheus_client, which only a module that serves ``/metrics`` pays for."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._families import cache_families as cache_families
    from ._families import pool_families as pool_families
    from ._families import router_families as router_families
    from ._families import secret_families as secret_families
    from ._histogram import BUCKETS as BUCKETS
    from ._histogram import Histogram as Histogram
    from ._histogram import HistogramSnapshot as HistogramSnapshot
    from ._http import route_of as route_of
    from ._merge import merge_pages as merge_pages
    from ._system import CONTENT_TYPE as CONTENT_TYPE
    from ._system import SystemMetrics as SystemMetrics

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._families": ["cache_families", "pool_families", "router_families", "secret_families"],
        "._histogram": ["BUCKETS", "Histogram", "HistogramSnapshot"],
        "._http": ["route_of"],
        "._merge": ["merge_pages"],
        "._system": ["CONTENT_TYPE", "SystemMetrics"],
    },
)
