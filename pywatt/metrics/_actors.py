"""The actor runtime's series: per actor mailbox depth and capacity, messages handled and
failed, handling time, restarts and crashes; dead letters by reason."""

from __future__ import annotations

import collections
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

import actors

from ._histogram import Histogram

__all__ = ["ActorCollector"]


class ActorCollector(Collector):
    """Observes an actor system (handling times, lifecycle events) and reads its mailboxes
    when collected. Attach with :meth:`attach`; it keeps its figures when detached."""

    def __init__(self, system: actors.ActorSystem) -> None:
        self.system = system
        self.latency: dict[str, Histogram] = {}
        self.restarts: collections.Counter[str] = collections.Counter()
        self.crashes: collections.Counter[str] = collections.Counter()
        self._unsubscribe: object = None

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
        histogram = self.latency.get(name)
        if histogram is None:
            histogram = self.latency[name] = Histogram()
        histogram.observe(seconds)

    def _on_event(self, event: actors.Event) -> None:
        match event:
            case actors.Restarted(name=name):
                self.restarts[name] += 1
            case actors.Crashed(name=name):
                self.crashes[name] += 1
            case _:
                pass

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pywatt_actor_up", "1 if an incarnation of the actor is serving.", labels=["actor"]
        )
        depth = GaugeMetricFamily(
            "pywatt_actor_mailbox_depth", "Messages waiting in the actor's mailbox.",
            labels=["actor"],
        )  # fmt: skip
        capacity = GaugeMetricFamily(
            "pywatt_actor_mailbox_capacity", "Capacity of the actor's mailbox.", labels=["actor"]
        )
        processed = CounterMetricFamily(
            "pywatt_actor_messages_processed", "Messages handled.", labels=["actor"]
        )
        failed = CounterMetricFamily(
            "pywatt_actor_messages_failed", "Messages whose handler raised.", labels=["actor"]
        )
        for name in self.system.registry.names():
            try:
                actor = self.system.statistics(name)
            except actors.NoSuchActor:  # gone between the two calls
                continue
            stats = actor.mailbox
            up.add_metric([name], int(actor.running))
            depth.add_metric([name], stats.depth)
            capacity.add_metric([name], stats.capacity)
            processed.add_metric([name], stats.processed)
            failed.add_metric([name], stats.failed)
        yield from (up, depth, capacity, processed, failed)
        handling = HistogramMetricFamily(
            "pywatt_actor_handling_seconds", "Time spent handling one message.",
            labels=["actor"],
        )  # fmt: skip
        for name, histogram in sorted(self.latency.items()):
            handling.add_metric([name], histogram.buckets(), histogram.sum)
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
