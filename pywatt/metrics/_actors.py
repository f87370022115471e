"""The actor runtime's series: per actor the cheap ones (serving or not, mailbox depth,
messages handled and failed, restarts, crashes); per actor *kind* (the actor's class) the
handling-time histogram, how many actors there are and their mailbox capacity; dead letters
by reason.

A module may run thousands of actors of one kind (one per session, say): a histogram per
actor would be twenty series each, and a scrape of 1,000 actors would spend its time writing
them. The kind keeps the latency distribution at a size that does not grow with the actors.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

import actors

from ._histogram import Histogram

__all__ = ["UNKNOWN_KIND", "ActorCollector"]

UNKNOWN_KIND = "(unknown)"
"""The kind of an actor that has not served yet (no incarnation has started)."""


class ActorCollector(Collector):
    """Observes an actor system (handling times, lifecycle events) and reads its mailboxes
    when collected. Attach with :meth:`attach`; it keeps its figures when detached."""

    def __init__(self, system: actors.ActorSystem) -> None:
        self.system = system
        self.latency: dict[str, Histogram] = {}
        """Handling times by actor kind."""
        self.restarts: collections.Counter[str] = collections.Counter()
        self.crashes: collections.Counter[str] = collections.Counter()
        self._unsubscribe: object = None
        self._by_name: dict[str, Histogram] = {}  # actor name -> its kind's histogram
        self._kinds: dict[str, str] = {}  # actor name -> the kind it last served as
        self._labels: dict[str, dict[str, str]] = {}  # actor name -> {"actor": name}

    def attach(self) -> None:
        """Start observing: every handled message, every restart and crash. Idempotent."""
        if self._unsubscribe is not None:
            return
        self.system.observe_handling(self._observe)
        self._unsubscribe = self.system.events.subscribe(self._on_event)

    def detach(self) -> None:
        unsubscribe = self._unsubscribe
        if unsubscribe is None:
            return
        assert callable(unsubscribe)
        unsubscribe()
        self._unsubscribe = None
        self.system.observe_handling(None)

    def _observe(self, name: str, seconds: float) -> None:
        histogram = self._by_name.get(name)
        if histogram is None:
            histogram = self._histogram_of(name)
        histogram.observe(seconds)

    def _histogram_of(self, name: str) -> Histogram:
        try:
            kind = self.system.statistics(name).kind or UNKNOWN_KIND
        except actors.NoSuchActor:
            kind = UNKNOWN_KIND
        histogram = self.latency.get(kind)
        if histogram is None:
            histogram = self.latency[kind] = Histogram()
        self._by_name[name] = histogram
        return histogram

    def _on_event(self, event: actors.Event) -> None:
        match event:
            case actors.Restarted(name=name):
                self.restarts[name] += 1
                self._by_name.pop(name, None)  # the new incarnation may be of another kind
            case actors.Crashed(name=name):
                self.crashes[name] += 1
            case _:
                pass

    def collect(self) -> Iterator[Metric]:
        up = Metric("pywatt_actor_up", "1 if an incarnation of the actor is serving.", "gauge")
        depth = Metric("pywatt_actor_mailbox_depth", "Messages waiting in the actor's mailbox.",
                       "gauge")  # fmt: skip
        processed = Metric("pywatt_actor_messages_processed", "Messages handled.", "counter")
        failed = Metric("pywatt_actor_messages_failed", "Messages whose handler raised.", "counter")
        # Samples are appended directly, one label dict per actor shared by its samples:
        # add_metric would build a dict per sample, and this runs for every actor.
        ups, depths, processeds, faileds = (
            up.samples,
            depth.samples,
            processed.samples,
            failed.samples,
        )
        registered: collections.Counter[str] = collections.Counter()
        capacity: dict[str, int] = {}
        labels_of, kinds = self._labels, self._kinds
        statistics = self.system.statistics
        names = self.system.registry.names()
        for name in names:
            try:
                actor = statistics(name)
            except actors.NoSuchActor:  # gone between the two calls
                continue
            labels = labels_of.get(name)
            if labels is None:
                labels = labels_of[name] = {"actor": name}
            stats = actor.mailbox
            ups.append(Sample("pywatt_actor_up", labels, int(actor.running)))
            depths.append(Sample("pywatt_actor_mailbox_depth", labels, stats.depth))
            processeds.append(
                Sample("pywatt_actor_messages_processed_total", labels, stats.processed)
            )
            faileds.append(Sample("pywatt_actor_messages_failed_total", labels, stats.failed))
            kind = actor.kind
            if kind is None:
                kind = kinds.get(name, UNKNOWN_KIND)
            else:
                kinds[name] = kind
            registered[kind] += 1
            capacity[kind] = max(capacity.get(kind, 0), stats.capacity)
        if len(labels_of) > len(names) or len(self._by_name) > len(names):
            # forget the names that are gone (actors that come and go between scrapes too)
            live = set(names)
            for table in (labels_of, kinds, self._by_name):
                for gone in [name for name in table if name not in live]:
                    del table[gone]
        yield from (up, depth, processed, failed)
        yield from _by_kind(
            ("pywatt_actors", "Actors registered, by kind.", registered),
            ("pywatt_actor_mailbox_capacity",
             "Capacity of the kind's mailboxes (the largest, if they differ).", capacity),
        )  # fmt: skip
        handling = HistogramMetricFamily(
            "pywatt_actor_handling_seconds", "Time spent handling one message, by actor kind.",
            labels=["kind"],
        )  # fmt: skip
        for kind, histogram in sorted(self.latency.items()):
            handling.add_metric([kind], histogram.buckets(), histogram.sum)
        yield handling
        for metric, help_text, counts in (
            ("pywatt_actor_restarts", "Restarts scheduled by a supervisor.", self.restarts),
            ("pywatt_actor_crashes", "Incarnations that ended by an error.", self.crashes),
        ):
            family = CounterMetricFamily(metric, help_text, labels=["actor"])
            for name, count in sorted(counts.items()):
                family.add_metric([name], count)
            yield family
        letters = CounterMetricFamily(
            "pywatt_dead_letters", "Messages that could not be delivered.", labels=["reason"]
        )
        dead = self.system.dead_letters
        for reason in actors.DeadLetterReason:
            letters.add_metric([reason.value], dead.count(reason))
        yield letters


def _by_kind(*families: tuple[str, str, dict[str, int]]) -> Iterator[Metric]:
    for name, help_text, values in families:
        gauge = Metric(name, help_text, "gauge")
        for kind, value in sorted(values.items()):
            gauge.add_sample(name, {"kind": kind}, value)
        yield gauge
