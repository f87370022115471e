"""What each kind of stateful actor's figures become: the router's, the secrets actor's,
every database pool's and every cache's, with the same meaning whatever the backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.metrics_core import Metric

from ._asked import counter_and_gauge_families, histogram_family

__all__ = ["cache_families", "pool_families", "router_families", "secret_families"]


def router_families(snapshots: Mapping[str, Any]) -> Iterator[Metric]:
    """From :class:`pywatt.router.RouterStatistics`."""
    yield histogram_family(
        "pywatt_router_request_duration_seconds",
        "Seconds from sending a request to another module to its reply.",
        "actor", snapshots, "latency",
    )  # fmt: skip
    yield from counter_and_gauge_families(
        "pywatt_router", "actor", snapshots,
        counters={
            "sent": "Requests sent to other modules.",
            "notifications": "Notifications sent.",
            "replies": "Replies received to requests sent.",
            "remote_errors": "Requests answered with an error by the other module.",
            "timeouts": "Requests that got no reply within their deadline.",
            "interrupted": "Requests failed because their channel closed.",
            "late_replies": "Replies that came after their request had given up.",
            "handled": "Requests from other modules handled here.",
            "handler_errors": "Requests whose handler here raised.",
            "unroutable": "Frames for an endpoint or module that does not exist.",
            "malformed": "Frames that could not be decoded.",
            "too_large": "Messages refused for being over the frame limit.",
        },
        gauges={
            "in_flight": "Requests sent and waiting for their reply.",
            "parked": "Requests waiting for a free slot.",
            "held": "Requests waiting for the module's setup to register their endpoint.",
        },
    )  # fmt: skip


def secret_families(snapshots: Mapping[str, Any]) -> Iterator[Metric]:
    """From :class:`pywatt.secrets.SecretStats`."""
    return counter_and_gauge_families(
        "pywatt_secrets", "actor", snapshots,
        counters={
            "hits": "Secret reads served from the cache.",
            "misses": "Secret reads fetched from a provider.",
            "evictions": "Secrets dropped from the cache to make room.",
            "expirations": "Secrets dropped from the cache when their TTL passed.",
            "rotations": "Rotations applied.",
        },
        gauges={"size": "Secrets in the cache."},
    )  # fmt: skip


def _backend(name: str, snapshot: Any) -> list[str]:
    return [str(snapshot.backend)]


def pool_families(snapshots: Mapping[str, Any]) -> Iterator[Metric]:
    """From :class:`pywatt.db.PoolStatistics`, one series per database actor."""
    yield histogram_family(
        "pywatt_db_query_duration_seconds",
        "Seconds a statement took on its connection (a pipelined batch: the batch's time).",
        "database", snapshots, "query_latency",
    )  # fmt: skip
    yield from counter_and_gauge_families(
        "pywatt_db_pool", "database", snapshots,
        counters={
            "transactions": "Transactions begun.",
            "opened": "Connections opened.",
            "closed": "Connections closed.",
            "failed_opens": "Connection attempts that failed.",
        },
        gauges={
            "idle": "Open connections not in use.",
            "in_use": "Connections lent to a query or transaction.",
            "opening": "Connections being opened.",
            "waiting": "Callers waiting for a connection.",
        },
    )  # fmt: skip


def cache_families(snapshots: Mapping[str, Any]) -> Iterator[Metric]:
    """From :class:`pywatt.cache.CacheStatistics`, one series per cache actor; the same names
    and meanings for every backend."""
    return counter_and_gauge_families(
        "pywatt_cache", "cache", snapshots,
        counters={
            "hits": "Keys found by reads.",
            "misses": "Keys not found by reads.",
            "sets": "Keys written.",
            "deletes": "Keys deleted.",
            "evictions": "Entries dropped to make room.",
            "expirations": "Entries dropped when their TTL passed (where the backend can tell).",
            "errors": "Operations that failed.",
            "operations": "Operations handled.",
        },
        gauges={
            "items": "Entries held (where the backend can tell cheaply).",
            "bytes": "Bytes held (where the backend can tell cheaply).",
        },
        extra=_backend, extra_labels=("backend",),
    )  # fmt: skip
