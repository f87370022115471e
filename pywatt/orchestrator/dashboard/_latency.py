"""What the gateway measures of the requests it routes: latency per module endpoint."""

from __future__ import annotations

import collections
import statistics
from collections.abc import Callable
from typing import Any, Final

from pywatt.http import path_matches
from pywatt.wire import AnnounceBlob

from ..processes import ModuleHandle

__all__ = ["EndpointLatency"]

WINDOW: Final = 512
"""Latest requests per endpoint that its percentiles are taken over."""
MATCHED: Final = 4096
"""Paths whose endpoint is remembered (forgotten all at once when full)."""


class _Route:
    __slots__ = ("count", "errors", "samples", "total")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.total = 0.0
        self.samples: collections.deque[float] = collections.deque(maxlen=WINDOW)


class EndpointLatency:
    """Latency of the requests the gateway routed to modules, per module, method and
    announced endpoint (``/items/{id}``, never the path asked: the set stays as small as the
    announcements). A path no announced endpoint matches any more is not counted.

    Lives outside the gateway actor, so what it measured survives a restart of the gateway.
    """

    def __init__(self, handles: Callable[[], list[ModuleHandle]]) -> None:
        self._handles = handles
        self._routes: dict[tuple[str, str, str], _Route] = {}
        self._matched: dict[tuple[str, str, str], tuple[AnnounceBlob, str | None]] = {}

    def record(self, module_id: str, method: str, path: str, status: int, seconds: float) -> None:
        """Count one answered request (``status`` 5xx counts as an error). Does not block."""
        template = self._template(module_id, method, path)
        if template is None:
            return
        key = (module_id, method, template)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = _Route()
        route.count += 1
        route.errors += status >= 500
        route.total += seconds
        route.samples.append(seconds)

    def top(self, limit: int = 10) -> list[dict[str, Any]]:
        """The ``limit`` slowest endpoints by p95 over their latest requests, in milliseconds."""
        rows: list[dict[str, Any]] = []
        for (module_id, method, template), route in self._routes.items():
            ordered = sorted(route.samples)
            rows.append(
                {
                    "module": module_id,
                    "method": method,
                    "route": template,
                    "count": route.count,
                    "errors": route.errors,
                    "mean_ms": _ms(route.total / route.count),
                    "p50_ms": _ms(_quantile(ordered, 0.50)),
                    "p95_ms": _ms(_quantile(ordered, 0.95)),
                    "p99_ms": _ms(_quantile(ordered, 0.99)),
                    "max_ms": _ms(ordered[-1]),
                }
            )
        rows.sort(key=lambda row: row["p95_ms"], reverse=True)
        return rows[:limit]

    def _template(self, module_id: str, method: str, path: str) -> str | None:
        handle = next((h for h in self._handles() if h.id == module_id), None)
        announce = handle.announce if handle is not None else None
        if announce is None:
            return None
        key = (module_id, method, path)
        cached = self._matched.get(key)
        if cached is not None and cached[0] is announce:  # the same announcement
            return cached[1]
        if len(self._matched) >= MATCHED:
            self._matched.clear()
        template = self._match(announce, method, path)
        self._matched[key] = (announce, template)
        return template

    @staticmethod
    def _match(announce: AnnounceBlob, method: str, path: str) -> str | None:
        for endpoint in announce.endpoints:
            methods = {m.upper() for m in endpoint.methods}
            wanted = method in methods or "*" in methods or (method == "HEAD" and "GET" in methods)
            if wanted and path_matches(endpoint.path, path):
                return endpoint.path
        return None


def _quantile(ordered: list[float], q: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
