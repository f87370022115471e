"""Observability: what tracing costs an ask and a routed request, and what a ``/metrics``
scrape of a busy module costs.

* ``traced_ask`` (asks/s): an actor asked in a loop. ``untraced``: no tracer provider, no
  trace. ``api_only``: the OpenTelemetry API without an SDK (its proxy provider), the loop
  inside a span made with it, as instrumented code without an SDK runs: pywatt does nothing
  but test one global. ``sdk_batch``: the SDK's ``TracerProvider`` with a
  ``BatchSpanProcessor`` whose exporter drops what it is handed (the export thread still
  runs and takes the GIL), the loop inside a sampled span: every ask is a child span whose
  context rides in the envelope.
* ``traced_request`` (requests/s): a request a module sends to its own endpoint through the
  router (encoded as for the wire, served by a function handler, answered): what
  ``state.send_request`` does. Under the SDK each is a client span, the W3C context in the
  payload's ``metadata.properties``, and a server span.
* Targets, as ratios to ``untraced``: ``api_only`` at least 0.95, ``sdk_batch`` at least 0.6.

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
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final

import attrs
import trio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

import actors
import pywatt.tracing
from benchmarks._harness import Bench, arate_loop, main, rate_loop
from pywatt.metrics import BUCKETS, SystemMetrics
from pywatt.router import ROUTER, RegisterHandler, SendRequest, router_spec

ACTORS: Final = 1000
SCRAPE_TARGET: Final = 0.5
SCRAPE_MS_TARGET: Final = 50.0
API_ONLY_TARGET: Final = 0.95
SDK_TARGET: Final = 0.6
BATCH: Final = 200
MODES: Final = ("untraced", "api_only", "sdk_batch", "sdk_sampled")
SAMPLED: Final = 0.1
"""``sdk_sampled``: the share of traces kept (``parentbased_traceidratio``), for reference."""


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


class _Dropped(SpanExporter):
    """A batch exporter that keeps nothing: the export thread's work without a receiver."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@contextmanager
def _tracing(mode: str) -> Iterator[None]:
    """Run the block as ``mode`` says (see the module docstring), tracing off after it."""
    if mode == "untraced":
        assert not pywatt.tracing.refresh()
        yield
        return
    if mode == "api_only":
        assert not pywatt.tracing.refresh()  # the API's proxy provider: no SDK behind it
        with trace.get_tracer("bench").start_as_current_span("request"):
            yield
        return
    exporter = _Dropped()
    sampled = mode == "sdk_sampled"
    sampler = ParentBased(TraceIdRatioBased(SAMPLED)) if sampled else None
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    assert pywatt.tracing.refresh(provider)
    tracer = provider.get_tracer("bench")
    try:
        if sampled:  # a new trace (sampled or not, as the ratio falls) every 200 operations
            _SAMPLED_TRACER[0] = tracer
            try:
                yield
            finally:
                _SAMPLED_TRACER[0] = None
        else:
            with tracer.start_as_current_span("request"):
                yield
    finally:
        assert not pywatt.tracing.refresh()
        provider.shutdown()
        assert sampled or exporter.spans > 0  # the spans were made and exported


def _root() -> AbstractContextManager[Any]:
    """In ``sdk_sampled`` mode, a new trace around a batch (kept or not as the sampler
    decides); elsewhere nothing (the mode's one span, if any, is current already)."""
    if _SAMPLED_TRACER[0] is None:
        return nullcontext()
    return _SAMPLED_TRACER[0].start_as_current_span("request")


_SAMPLED_TRACER: list[trace.Tracer | None] = [None]


@attrs.frozen
class Double(actors.Request[int]):
    value: int


class Doubler(actors.Actor[Double]):
    async def receive(self, message: Double) -> int:
        return message.value * 2


def _asks(mode: str) -> Any:
    async def run(seconds: float) -> float:
        async with actors.open_actor_system() as system:
            ref = await system.spawn(Doubler, name="doubler")

            async def batch() -> float:
                with _root():
                    for n in range(BATCH):
                        await ref.ask(Double(n))
                return float(BATCH)

            with _tracing(mode):
                return await arate_loop(batch, seconds)

    return run


def _requests(mode: str) -> Any:
    async def run(seconds: float) -> float:
        async with actors.open_actor_system() as system:
            await system.root.start_child(router_spec("me"))  # to itself: no channel needed
            await system.ask(ROUTER, RegisterHandler("echo", lambda request: request))
            router = system.ref(ROUTER)

            async def batch() -> float:
                with _root():
                    for n in range(BATCH):
                        # what state.send_request("me:echo", n) does
                        with pywatt.tracing.client_span("me", "echo") as carrier:
                            await router.ask(SendRequest("me", "echo", n, Any, None, carrier))
                return float(BATCH)

            with _tracing(mode):
                return await arate_loop(batch, seconds)

    return run


def define(bench: Bench) -> None:
    for name, workload, unit in (
        ("traced_ask", _asks, "asks/s"),
        ("traced_request", _requests, "requests/s"),
    ):
        case = bench.case(name, unit=unit)
        for mode in MODES:
            case.add(mode, workload(mode))
        for mode, target in (("api_only", API_ONLY_TARGET), ("sdk_batch", SDK_TARGET)):
            ratio = bench.ratio(name, mode, "untraced", name=f"{name}_{mode}_vs_untraced")
            bench.target(ratio, ">=", target)
    bench.meta["traced_ask"] = {
        "untraced": "no tracer provider, no trace",
        "api_only": "the OpenTelemetry API's proxy provider (no SDK), inside an API span",
        "sdk_batch": "SDK TracerProvider, BatchSpanProcessor, an exporter that drops spans; "
        "inside a sampled span: one child span per ask",
        "sdk_sampled": f"as sdk_batch, a new trace per {BATCH} asks, {SAMPLED:.0%} of traces "
        "kept (parentbased_traceidratio); no target",
    }
    bench.meta["traced_request"] = {
        "untraced": "a request to the module's own endpoint through the router",
        "api_only": "the same inside an API span without an SDK",
        "sdk_batch": "the same under the SDK: a client span and a server span per request",
        "sdk_sampled": f"as sdk_batch, a new trace per {BATCH} requests, {SAMPLED:.0%} kept",
    }
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
