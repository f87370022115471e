"""Counting for cache backends: hits, misses, evictions, errors and latency."""

from __future__ import annotations

import collections
import statistics
from collections.abc import Mapping

from ._messages import CacheStatistics

LATENCY_WINDOW = 2048
"""Latency percentiles are over this many most recent operations."""


class StatsRecorder:
    """Mutable counters one backend actor owns; :meth:`snapshot` freezes them.

    Plain attributes, so a hot path costs an attribute increment. ``observe(seconds)``
    records one operation's latency.
    """

    __slots__ = (
        "backend",
        "deletes",
        "errors",
        "evictions",
        "expirations",
        "hits",
        "latencies",
        "latency_max",
        "latency_total",
        "misses",
        "operations",
        "sets",
    )

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.hits = 0
        self.misses = 0
        self.sets = 0
        self.deletes = 0
        self.evictions = 0
        self.expirations = 0
        self.errors = 0
        self.operations = 0
        self.latency_total = 0.0
        self.latency_max = 0.0
        self.latencies: collections.deque[float] = collections.deque(maxlen=LATENCY_WINDOW)

    def observe(self, seconds: float) -> None:
        """Record one finished operation that took ``seconds``."""
        self.operations += 1
        self.latency_total += seconds
        if seconds > self.latency_max:
            self.latency_max = seconds
        self.latencies.append(seconds)

    def snapshot(
        self,
        *,
        items: int | None = None,
        size: int | None = None,
        server: Mapping[str, str] | None = None,
    ) -> CacheStatistics:
        """The counters now, as a frozen :class:`CacheStatistics`."""
        window = sorted(self.latencies)
        p50 = statistics.median(window) if window else 0.0
        p99 = window[min(len(window) - 1, int(len(window) * 0.99))] if window else 0.0
        mean = self.latency_total / self.operations if self.operations else 0.0
        return CacheStatistics(
            backend=self.backend,
            hits=self.hits,
            misses=self.misses,
            sets=self.sets,
            deletes=self.deletes,
            evictions=self.evictions,
            expirations=self.expirations,
            errors=self.errors,
            operations=self.operations,
            items=items,
            bytes=size,
            latency_mean_us=mean * 1e6,
            latency_p50_us=p50 * 1e6,
            latency_p99_us=p99 * 1e6,
            latency_max_us=self.latency_max * 1e6,
            server=dict(server or {}),
        )
