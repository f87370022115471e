"""Observability: what a ``/metrics`` scrape of a busy module costs.

* ``metrics_scrape``: scrapes per second of a module-sized actor system with 1,000 actors
  (each has handled messages, so each has a handling histogram) plus the HTTP series.
  ``pywatt``: ``SystemMetrics.render()`` (it asks the watched actors first, then
  prometheus_client's ``generate_latest``). ``prometheus_client``: the same number of
  series as plain labelled ``Gauge``/``Counter``/``Histogram`` metrics on a registry of
  their own, rendered by ``generate_latest``: what a hand-instrumented module would pay.
* ``metrics_scrape_1000_actors_ms``: the time of one pywatt scrape (target: at most 50 ms).

Target: pywatt's scrape at least 0.5 of prometheus_client's own for the same series.

    python -m benchmarks.observability [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import time
from typing import Final

import attrs
import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

import actors
from benchmarks._harness import Bench, arate_loop, main, rate_loop
from pywatt.metrics import BUCKETS, SystemMetrics

ACTORS: Final = 1000
SCRAPE_TARGET: Final = 0.5
SCRAPE_MS_TARGET: Final = 50.0


@attrs.frozen
class Ping(actors.Request[int]):
    pass


class Idle(actors.Actor[Ping]):
    async def receive(self, message: Ping) -> int:
        return 1


async def _with_system(work: object, seconds: float) -> float:
    async with actors.open_actor_system() as system:
        metrics = SystemMetrics.of(system)
        metrics.observe()
        for n in range(ACTORS):
            await system.spawn(Idle, name=f"worker-{n}")
            await system.ask(f"worker-{n}", Ping())
        metrics.http.observe(transport="ipc", method="GET", route="/x", status=200, seconds=0.01)
        assert callable(work)
        result: float = await work(metrics, seconds)
        return result


async def _pywatt(seconds: float) -> float:
    async def scrape(metrics: SystemMetrics, seconds: float) -> float:
        async def batch() -> float:
            await metrics.render()
            return 1.0

        return await arate_loop(batch, seconds)

    return await _with_system(scrape, seconds)


def _plain_registry() -> CollectorRegistry:
    """The same series pywatt shows for 1,000 actors, as plain prometheus_client metrics."""
    registry = CollectorRegistry()
    labels = ["actor"]
    gauges = [Gauge(f"plain_actor_{n}", n, labels, registry=registry)
              for n in ("up", "mailbox_depth", "mailbox_capacity")]  # fmt: skip
    counters = [Counter(f"plain_actor_{n}", n, labels, registry=registry)
                for n in ("processed", "failed", "restarts", "crashes")]  # fmt: skip
    histogram = Histogram("plain_actor_handling_seconds", "h", labels, registry=registry,
                          buckets=BUCKETS)  # fmt: skip
    for n in range(ACTORS):
        name = f"worker-{n}"
        for gauge in gauges:
            gauge.labels(name).set(1)
        for counter in counters:
            counter.labels(name).inc()
        histogram.labels(name).observe(0.0001)
    return registry


def _prometheus_client(seconds: float) -> float:
    registry = _plain_registry()

    def batch() -> float:
        generate_latest(registry)
        return 1.0

    return rate_loop(batch, seconds)


def _one_scrape_ms() -> float:
    async def once(metrics: SystemMetrics, seconds: float) -> float:
        began = time.perf_counter()
        await metrics.render()
        return (time.perf_counter() - began) * 1000

    return trio.run(_with_system, once, 0.0)


def define(bench: Bench) -> None:
    case = bench.case("metrics_scrape", unit="scrapes/s")
    case.add("pywatt", _pywatt)
    case.add("prometheus_client", _prometheus_client)
    bench.target(bench.ratio("metrics_scrape", "pywatt", "prometheus_client"), ">=",
                 SCRAPE_TARGET)  # fmt: skip
    bench.metric("metrics_scrape_1000_actors_ms", _one_scrape_ms)
    bench.target("metrics_scrape_1000_actors_ms", "<=", SCRAPE_MS_TARGET)
    bench.meta["metrics_scrape"] = {
        "actors": ACTORS,
        "pywatt": "SystemMetrics.render(): asks the watched actors, then generate_latest",
        "prometheus_client": "the same series as plain labelled metrics, generate_latest",
    }


if __name__ == "__main__":
    raise SystemExit(main("observability", define))
