"""One actor system's metrics: a prometheus_client registry with pywatt's collectors on it,
which the module's code can add its own metrics to."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

import actors

from ._actors import ActorCollector
from ._asked import AskedStats
from ._channels import ChannelCollector
from ._http import HttpCollector

__all__ = ["CONTENT_TYPE", "SystemMetrics"]

CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4
"""The content type of :meth:`SystemMetrics.render`'s page."""

REFRESH_TIMEOUT: Final = 1.0
"""Seconds an actor has to give its figures to a scrape."""

_BY_SYSTEM: weakref.WeakKeyDictionary[actors.ActorSystem, SystemMetrics] = (
    weakref.WeakKeyDictionary()
)


class _Uptime(Collector):
    def __init__(self) -> None:
        self.started = time.monotonic()

    def collect(self) -> Any:
        yield GaugeMetricFamily(
            "pywatt_uptime_seconds", "Seconds since the metrics were installed.",
            value=time.monotonic() - self.started,
        )  # fmt: skip


class SystemMetrics:
    """The metrics of one actor system; one per system (:meth:`of`), so that what was
    counted survives a restart of the actor that serves ``/metrics``.

    ``registry`` is a ``prometheus_client.CollectorRegistry``: register your own metrics on
    it (``Counter("orders", "Orders taken.", registry=state.metrics.registry)``) and they are
    on the module's ``/metrics`` page beside pywatt's.
    """

    def __init__(self, system: actors.ActorSystem) -> None:
        self.system = system
        self.registry = CollectorRegistry(auto_describe=False)
        self.actors = ActorCollector(system)
        self.http = HttpCollector()
        self._asked: list[AskedStats[Any]] = []
        self._channels: ChannelCollector | None = None
        for collector in (self.actors, self.http, _Uptime()):
            self.registry.register(collector)

    @classmethod
    def of(cls, system: actors.ActorSystem) -> SystemMetrics:
        """The system's metrics, created on first use. Handling times and lifecycle events
        are observed from :meth:`observe` on (what serves the page calls it)."""
        metrics = _BY_SYSTEM.get(system)
        if metrics is None:
            metrics = _BY_SYSTEM[system] = cls(system)
        return metrics

    def observe(self) -> None:
        """Start timing every handled message and counting restarts and crashes. Idempotent;
        it lasts as long as the system."""
        self.actors.attach()

    def watch(
        self,
        source: str,
        request: Callable[[], actors.Request[Any]],
        families: Callable[[Any], Any],
        *,
        protocol: actors.Protocol | None = None,
        name: str | None = None,
    ) -> None:
        """Ask every actor carrying ``protocol`` (or the actor ``name``) for its figures
        before each scrape, and show them as ``families`` says. Once per ``source``."""
        if any(asked.source == source for asked in self._asked):
            return
        asked = AskedStats(self.system, source, request, families, protocol=protocol, name=name)
        self._asked.append(asked)
        self.registry.register(asked)

    def watch_channels(self, statistics: Callable[[], Sequence[Any]]) -> None:
        """Show the module's channels (``statistics()`` lists their snapshots). Once."""
        if self._channels is None:
            self._channels = ChannelCollector(statistics)
            self.registry.register(self._channels)

    async def render(self) -> bytes:
        """The page in the Prometheus text format: the actors' figures asked for first."""
        for asked in self._asked:
            await asked.refresh(REFRESH_TIMEOUT)
        return generate_latest(self.registry)
