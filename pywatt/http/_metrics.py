"""What ``/metrics`` shows: the actors' mailboxes, handling latency, restarts, dead letters.

:class:`ActorMetrics` installs itself on an actor system (``install``): it observes every
message an actor handles (:meth:`actors.ActorSystem.observe_handling`) into a per-actor
latency histogram, and counts restarts and crashes from the system's lifecycle events.
Mailbox depths, processed and failed counts and dead letters are read from the runtime when
the page is rendered. HTTP requests served (by transport and status class) are counted by the
served app. ``render()`` produces the Prometheus text exposition format (version 0.0.4).
"""

from __future__ import annotations

import bisect
import collections
import time
from collections.abc import Callable, Iterable
from typing import Final

import actors

BUCKETS: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                  0.5, 1.0, 2.5, 5.0, 10.0)  # fmt: skip
"""Histogram bucket bounds in seconds (plus +Inf)."""

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    """A Prometheus-style histogram: counts per bucket, a sum and a count. Not thread-safe."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def lines(self, metric: str, labels: str) -> Iterable[str]:
        running = 0
        for bound, count in zip((*BUCKETS, None), self.counts, strict=True):
            running += count
            le = "+Inf" if bound is None else _number(bound)
            yield f'{metric}_bucket{{{labels},le="{le}"}} {running}'
        yield f"{metric}_sum{{{labels}}} {_number(self.sum)}"
        yield f"{metric}_count{{{labels}}} {self.count}"


class ActorMetrics:
    """Metrics of one actor system (see the module docstring)."""

    def __init__(self, system: actors.ActorSystem, *, module_id: str = "") -> None:
        self.system = system
        self.module_id = module_id
        self.latency: dict[str, Histogram] = {}
        self.restarts: collections.Counter[str] = collections.Counter()
        self.crashes: collections.Counter[str] = collections.Counter()
        self.http: collections.Counter[tuple[str, str]] = collections.Counter()
        self.http_latency: dict[str, Histogram] = {}
        self.gauges: list[Callable[[], Iterable[str]]] = []
        """Extra sources of exposition lines (e.g. channel health), rendered last."""
        self.started = time.monotonic()
        self._unsubscribe: Callable[[], None] | None = None

    def install(self) -> None:
        """Start observing the system: handling latency and lifecycle events. Idempotent."""
        if self._unsubscribe is not None:
            return
        self.system.observe_handling(self._observe)
        self._unsubscribe = self.system.events.subscribe(self._on_event)

    def uninstall(self) -> None:
        """Stop observing (the collected figures stay)."""
        if self._unsubscribe is None:
            return
        self._unsubscribe()
        self._unsubscribe = None
        self.system.observe_handling(None)

    def _observe(self, name: str, seconds: float) -> None:
        histogram = self.latency.get(name)
        if histogram is None:
            histogram = self.latency[name] = Histogram()
        histogram.observe(seconds)

    def _on_event(self, event: actors.LifecycleEvent) -> None:
        if isinstance(event, actors.Restarted):
            self.restarts[event.name] += 1
        elif isinstance(event, actors.Crashed):
            self.crashes[event.name] += 1

    def observe_http(self, transport: str, status: int, seconds: float) -> None:
        """Count one served HTTP request (``transport`` is ``http`` or ``ipc``)."""
        self.http[(transport, f"{status // 100}xx")] += 1
        histogram = self.http_latency.get(transport)
        if histogram is None:
            histogram = self.http_latency[transport] = Histogram()
        histogram.observe(seconds)

    # -- rendering -------------------------------------------------------------------------

    def render(self) -> str:
        """The whole page in the Prometheus text format. Does not block."""
        names = self.system.registry.names()
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        stats = {}
        for name in names:
            actor = self.system.statistics(name)
            stats[name] = (actor.mailbox, actor.running)
        family("pywatt_actor_up", "gauge", "1 if an incarnation of the actor is serving.")
        out += [f"pywatt_actor_up{{{_actor(n)}}} {int(up)}" for n, (_, up) in stats.items()]
        family("pywatt_actor_mailbox_depth", "gauge", "Messages waiting in the actor's mailbox.")
        out += [
            f"pywatt_actor_mailbox_depth{{{_actor(n)}}} {s.depth}" for n, (s, _) in stats.items()
        ]
        family("pywatt_actor_mailbox_capacity", "gauge", "Capacity of the actor's mailbox.")
        out += [
            f"pywatt_actor_mailbox_capacity{{{_actor(n)}}} {s.capacity}"
            for n, (s, _) in stats.items()
        ]
        family("pywatt_actor_messages_processed_total", "counter", "Messages handled.")
        out += [
            f"pywatt_actor_messages_processed_total{{{_actor(n)}}} {s.processed}"
            for n, (s, _) in stats.items()
        ]
        family("pywatt_actor_messages_failed_total", "counter", "Messages whose handler raised.")
        out += [
            f"pywatt_actor_messages_failed_total{{{_actor(n)}}} {s.failed}"
            for n, (s, _) in stats.items()
        ]
        family("pywatt_actor_handling_seconds", "histogram", "Time spent handling one message.")
        for name, histogram in sorted(self.latency.items()):
            out += histogram.lines("pywatt_actor_handling_seconds", _actor(name))
        family("pywatt_actor_restarts_total", "counter", "Restarts scheduled by a supervisor.")
        out += [
            f"pywatt_actor_restarts_total{{{_actor(n)}}} {c}"
            for n, c in sorted(self.restarts.items())
        ]
        family("pywatt_actor_crashes_total", "counter", "Incarnations that ended by an error.")
        out += [
            f"pywatt_actor_crashes_total{{{_actor(n)}}} {c}"
            for n, c in sorted(self.crashes.items())
        ]
        family("pywatt_dead_letters_total", "counter", "Messages that could not be delivered.")
        letters = self.system.dead_letters
        for reason in actors.DeadLetterReason:
            out.append(
                f'pywatt_dead_letters_total{{reason="{_escape(reason.value)}"}} '
                f"{letters.count(reason)}"
            )
        family("pywatt_http_requests_total", "counter", "HTTP requests served, by transport.")
        out += [
            f'pywatt_http_requests_total{{transport="{t}",status="{s}"}} {c}'
            for (t, s), c in sorted(self.http.items())
        ]
        family("pywatt_http_request_seconds", "histogram", "Time to serve one HTTP request.")
        for transport, histogram in sorted(self.http_latency.items()):
            out += histogram.lines("pywatt_http_request_seconds", f'transport="{transport}"')
        family("pywatt_uptime_seconds", "gauge", "Seconds since the metrics were installed.")
        out.append(f"pywatt_uptime_seconds {_number(time.monotonic() - self.started)}")
        for source in self.gauges:
            out += source()
        return "\n".join(out) + "\n"


def _actor(name: str) -> str:
    return f'actor="{_escape(name)}"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
