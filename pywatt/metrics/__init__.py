"""A module's metrics on prometheus_client: the actor runtime, channels, router, database
pools, caches, secrets and HTTP, on one registry per actor system that the module's own
metrics can join (docs/metrics.md)."""

from ._families import cache_families as cache_families
from ._families import pool_families as pool_families
from ._families import router_families as router_families
from ._families import secret_families as secret_families
from ._histogram import BUCKETS as BUCKETS
from ._http import route_of as route_of
from ._merge import merge_pages as merge_pages
from ._system import CONTENT_TYPE as CONTENT_TYPE
from ._system import SystemMetrics as SystemMetrics

__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "SystemMetrics",
    "cache_families",
    "merge_pages",
    "pool_families",
    "route_of",
    "router_families",
    "secret_families",
]
