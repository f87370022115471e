"""Series from figures an actor keeps itself (the router's counters, a pool's connections, a
cache's hits): asked of it just before each scrape, since a collector cannot wait."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import trio
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

import actors

__all__ = ["AskedStats", "counter_and_gauge_families"]

T = TypeVar("T")
log = logging.getLogger("pywatt.metrics")


class AskedStats(Collector, Generic[T]):
    """The snapshots of every actor whose name carries ``protocol`` (or of the one actor
    ``name``), refreshed by :meth:`refresh` and turned into series by ``families``.

    An actor that does not answer within the refresh's time is left out of that scrape and
    counted in ``pywatt_metrics_source_up{source=...}`` as 0: a scrape never waits long on a
    busy or crashed actor, and never fails because of one.
    """

    def __init__(
        self,
        system: actors.ActorSystem,
        source: str,
        request: Callable[[], actors.Request[T]],
        families: Callable[[Mapping[str, T]], Iterable[Metric]],
        *,
        protocol: actors.Protocol | None = None,
        name: str | None = None,
    ) -> None:
        if (protocol is None) == (name is None):
            raise ValueError("give a protocol or a name")
        self.system = system
        self.source = source
        self.request = request
        self.families = families
        self.protocol = protocol
        self.name = name
        self.snapshots: dict[str, T] = {}
        self.silent: list[str] = []

    def names(self) -> list[str]:
        if self.protocol is not None:
            return self.system.registry.names_with(self.protocol)
        assert self.name is not None
        return [self.name] if self.system.lookup(self.name) is not None else []

    async def refresh(self, timeout: float) -> None:
        """Ask every actor for its figures, all at once, each within ``timeout`` seconds."""
        snapshots: dict[str, T] = {}
        silent: list[str] = []

        async def ask(name: str) -> None:
            with trio.move_on_after(timeout):
                try:
                    snapshots[name] = await self.system.ask(name, self.request())
                except actors.ActorError as exc:
                    log.debug("metrics: %s did not answer: %s", name, exc)
                return
            silent.append(name)

        async with trio.open_nursery() as nursery:
            for name in self.names():
                nursery.start_soon(ask, name)
        self.snapshots, self.silent = snapshots, sorted(silent)

    def collect(self) -> Iterator[Metric]:
        yield from self.families(self.snapshots)
        up = GaugeMetricFamily(
            f"pywatt_metrics_{self.source}_answered",
            f"1 for each {self.source} actor that gave its figures to the last scrape, "
            "0 for one that did not answer in time.",
            labels=["actor"],
        )
        for name in self.snapshots:
            up.add_metric([name], 1)
        for name in self.silent:
            up.add_metric([name], 0)
        yield up


def counter_and_gauge_families(
    prefix: str,
    label: str,
    snapshots: Mapping[str, Any],
    *,
    counters: Mapping[str, str],
    gauges: Mapping[str, str],
    extra: Callable[[str, Any], list[str]] | None = None,
    extra_labels: tuple[str, ...] = (),
) -> Iterator[Metric]:
    """One family per attribute: ``counters`` and ``gauges`` map attribute → help text."""
    labels = [label, *extra_labels]
    for attribute, help_text in counters.items():
        family = CounterMetricFamily(f"{prefix}_{attribute}", help_text, labels=labels)
        for name, snapshot in snapshots.items():
            value = getattr(snapshot, attribute)
            family.add_metric([name, *(extra(name, snapshot) if extra else [])], value)
        yield family
    for attribute, help_text in gauges.items():
        gauge = GaugeMetricFamily(f"{prefix}_{attribute}", help_text, labels=labels)
        for name, snapshot in snapshots.items():
            value = getattr(snapshot, attribute)
            if value is not None:
                gauge.add_metric([name, *(extra(name, snapshot) if extra else [])], value)
        yield gauge


def histogram_family(
    name: str, help_text: str, label: str, snapshots: Mapping[str, Any], attribute: str
) -> Metric:
    """One histogram family from each snapshot's ``attribute`` (a ``HistogramSnapshot``)."""
    family = HistogramMetricFamily(name, help_text, labels=[label])
    for actor, snapshot in snapshots.items():
        figures = getattr(snapshot, attribute)
        if figures.buckets:
            family.add_metric([actor], list(figures.buckets), figures.sum)
    return family
