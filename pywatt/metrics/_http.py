"""HTTP requests a module served: by transport, method, route template and status class,
and the time each took."""

from __future__ import annotations

import collections
from collections.abc import Iterator, Mapping
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._histogram import Histogram

__all__ = ["UNMATCHED", "HttpCollector", "route_of"]

UNMATCHED: Final = "(unmatched)"
"""The route label of a request no route of the app matched (its 404s)."""
OTHER: Final = "(other)"
"""The route label when the app does not say which route served a request (a plain ASGI or
WSGI app): the path itself would give one series per URL."""


def route_of(scope: Mapping[str, Any], status: int) -> str:
    """The route template that served the request (``/items/{item_id}``), as Starlette and
    FastAPI leave it in the scope; :data:`UNMATCHED` or :data:`OTHER` when there is none."""
    route = scope.get("route")
    if isinstance(route, str):  # pywatt's own endpoints (/health, /metrics)
        return route
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return template
    return UNMATCHED if status == 404 else OTHER


class HttpCollector(Collector):
    """Counts requests and their latency as the served app reports them."""

    def __init__(self) -> None:
        self.requests: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
        self.latency: dict[tuple[str, str], Histogram] = {}

    def observe(
        self, *, transport: str, method: str, route: str, status: int, seconds: float
    ) -> None:
        """One request served (``transport`` is ``http`` or ``ipc``)."""
        self.requests[(transport, method, route, f"{status // 100}xx")] += 1
        key = (transport, route)
        histogram = self.latency.get(key)
        if histogram is None:
            histogram = self.latency[key] = Histogram()
        histogram.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "pywatt_http_requests", "HTTP requests served.",
            labels=["transport", "method", "route", "status"],
        )  # fmt: skip
        for labels, count in sorted(self.requests.items()):
            requests.add_metric(list(labels), count)
        yield requests
        latency = HistogramMetricFamily(
            "pywatt_http_request_seconds", "Time to serve one HTTP request.",
            labels=["transport", "route"],
        )  # fmt: skip
        for (transport, route), histogram in sorted(self.latency.items()):
            latency.add_metric([transport, route], histogram.buckets(), histogram.sum)
        yield latency
