"""Observability: what tracing costs an ask and a routed request, and what a ``/metrics``
scrape of a busy module costs.

* ``traced_ask`` (asks/s): an actor asked in a loop. ``untraced``: no tracer provider, no
  trace. ``api_only``: the OpenTelemetry API without an SDK (its proxy provider), the loop
  inside a span made with it, as instrumented code without an SDK runs: pywatt does nothing
  but test one global. ``sdk_batch``: the SDK's ``TracerProvider`` with a
  ``BatchSpanProcessor`` whose exporter drops what it is handed (the export thread still
  runs and takes the GIL), the loop inside a sampled span: every ask carries the trace
  context in its envelope (the default: no span per ask). ``sdk_ask_spans``: the same with
  ``PYWATT_TRACE_ASKS=1``, every ask a child span (no target: see ``sdk_span``).
* ``sdk_span`` (spans/s): the floor under ``sdk_ask_spans``: the SDK alone making and ending
  a span with an ask span's three attributes, in a loop, under the same processor.
* ``traced_request`` (requests/s): a request a module sends to its own endpoint through the
  router (encoded as for the wire, served by a function handler, answered): what
  ``state.send_request`` does. Under the SDK each is a client span, the W3C context in the
  payload's ``metadata.properties``, and a server span.
  ``sdk_floor``: the untraced request (pywatt's tracing off) plus, in the same loop, what
  the SDK alone does for a traced one: the client span and the server span with the same
  names, kinds and attributes, the context injected into a carrier and extracted from it,
  under the same processor. What no instrumentation of the SDK can go below: the ratio
  ``sdk_batch`` / ``sdk_floor`` is pywatt's own share.
  No targets here (reported, with ``sdk_floor``): in one process the request pays both
  spans, and the SDK's own work for them bounds the rate below 0.6 (docs/tracing.md).
* ``traced_routed_request`` (requests/s): the routed request of benchmarks/channels.py (its
  fixture: module ``ping`` asks ``pong:echo`` under the embedded orchestrator, on the
  direct line it granted them, 16 in flight, two processes), each module process configured
  only by ``OTEL_*`` variables.
  ``untraced``: ``OTEL_TRACES_EXPORTER=none``. ``sdk_batch``: ``OTEL_TRACES_EXPORTER`` naming
  an exporter that drops spans (benchmarks/_drop_exporter.py, registered as an entry point):
  the SDK and a ``BatchSpanProcessor`` in each module. The trace's root is ``ping``'s server
  span of the ``run`` request the benchmark sends (one sampled trace per run, as a request
  coming in starts one): every request is a client span in ``ping`` and a server span in
  ``pong``, the context in its metadata. Checked once before the timed runs: ``ping``'s
  exporter was handed client spans, ``pong``'s server spans of the same trace (and none
  at all untraced). No ``api_only``: a module without the SDK configured runs with the API
  alone, which is ``untraced`` by construction. The orchestrator's dashboard is off in both
  (it would ask the modules for their spans as well).
  ``sdk_floor``: pywatt's tracing off, and each module doing by hand, with an SDK provider
  of its own under the same processor and exporter, only what the SDK does for a traced
  request: ``ping``'s client span, ``pong``'s server span (pywatt's names, kinds and
  attributes), the ``traceparent`` written with an f-string into the payload and read back
  with a split. What no instrumentation with the SDK goes below: ``sdk_batch`` /
  ``sdk_floor`` is pywatt's own share, ``sdk_floor`` / ``untraced`` the best any could do.
  Each run also measures the CPU time each module process spends per request (from /proc);
  the meta's ``cpu_us_per_request`` holds the medians per mode: ``sdk_batch`` minus
  ``untraced`` is what tracing costs each process per request, in µs.
* Targets, as ratios to ``untraced``: ``traced_ask``: ``api_only`` at least 0.95,
  ``sdk_batch`` at least 0.6; ``traced_routed_request``: ``sdk_batch`` at least 0.6.

* ``metrics_scrape``: scrapes per second of a module-sized actor system with 1,000 actors
  of one kind (each has handled messages) plus the HTTP series: per actor four samples,
  per kind the handling histogram.
  ``pywatt``: ``SystemMetrics.render()`` (it asks the watched actors first, then
  prometheus_client's ``generate_latest``). ``prometheus_client``: the same number of
  series as plain labelled ``Gauge``/``Counter``/``Histogram`` metrics on a registry of
  their own, rendered by ``generate_latest``: what a hand-instrumented module would pay.
* ``metrics_scrape_1000_actors_ms``: the time of one pywatt scrape (target: at most 50 ms).

Target: pywatt's scrape at least 0.5 of prometheus_client's own for the same series.

    python -m benchmarks.observability [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final

import attrs
import trio
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

import actors
import pywatt.tracing
from benchmarks import _drop_exporter
from benchmarks._harness import Bench, Settings, arate_loop, main, rate_loop
from benchmarks.channels import IN_FLIGHT, RoutedFixture
from pywatt.metrics import BUCKETS, SystemMetrics
from pywatt.router import ROUTER, RegisterHandler, SendRequest, router_spec

ACTORS: Final = 1000
SCRAPE_TARGET: Final = 0.5
SCRAPE_MS_TARGET: Final = 50.0
API_ONLY_TARGET: Final = 0.95
SDK_TARGET: Final = 0.6
BATCH: Final = 200
MODES: Final = ("untraced", "api_only", "sdk_batch", "sdk_ask_spans", "sdk_sampled", "sdk_floor")
ROUTED_MODES: Final = ("untraced", "sdk_batch", "sdk_floor")
SDK_FLOOR_VARIABLE: Final = "PYWATT_BENCH_SDK_FLOOR"
"""Makes benchmarks/_channels_peer.py do the SDK's work for a traced request by hand."""
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
              for n in ("up", "mailbox_depth")]  # fmt: skip
    counters = [Counter(f"plain_actor_{n}", n, labels, registry=registry)
                for n in ("processed", "failed")]  # fmt: skip
    for n in range(ACTORS):
        name = f"worker-{n}"
        for gauge in gauges:
            gauge.labels(name).set(1)
        for counter in counters:
            counter.labels(name).inc()
    for family in ("actors", "mailbox_capacity"):
        Gauge(f"plain_{family}", family, ["kind"], registry=registry).labels("Idle").set(1)
    histogram = Histogram("plain_actor_handling_seconds", "h", ["kind"], registry=registry,
                          buckets=BUCKETS)  # fmt: skip
    histogram.labels("Idle").observe(0.0001)
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
    if mode == "sdk_ask_spans":
        os.environ[pywatt.tracing.TRACE_ASKS] = "1"
    if mode == "sdk_floor":
        with _floor_tracer():
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
        os.environ.pop(pywatt.tracing.TRACE_ASKS, None)
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


@contextmanager
def _floor_tracer() -> Iterator[trace.Tracer]:
    """An SDK provider as ``sdk_batch`` has, pywatt's tracing left off: a tracer for the
    SDK's own work (``sdk_floor``) inside a sampled span."""
    assert not pywatt.tracing.refresh()
    exporter = _Dropped()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    _FLOOR_TRACER[0] = tracer
    try:
        with tracer.start_as_current_span("request"):
            yield tracer
    finally:
        _FLOOR_TRACER[0] = None
        provider.shutdown()
    assert exporter.spans > 0


_FLOOR_TRACER: list[trace.Tracer | None] = [None]
_CLIENT_ATTRIBUTES: Final = {"rpc.system": "pywatt", "rpc.service": "me", "rpc.method": "echo",
                             "pywatt.module.id": "me"}  # fmt: skip
_SERVER_ATTRIBUTES: Final = {**_CLIENT_ATTRIBUTES, "pywatt.source.module.id": "me"}


def _sdk_alone(tracer: trace.Tracer) -> Span:
    """What the SDK does for one traced request, pywatt aside: its client span, the context
    injected and extracted, its server span. Returns the client span (the server span is
    ended at once: which of the two ends when is no cost of its own)."""
    client = tracer.start_span("me/echo", None, SpanKind.CLIENT, _CLIENT_ATTRIBUTES)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, trace.set_span_in_context(client))
    parent = propagate.extract(carrier)
    tracer.start_span("me/echo", parent, SpanKind.SERVER, _SERVER_ATTRIBUTES).end()
    return client


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
                floor = _FLOOR_TRACER[0]
                if floor is not None:  # sdk_floor: the SDK's work beside an untraced request
                    for n in range(BATCH):
                        client = _sdk_alone(floor)
                        await router.ask(SendRequest("me", "echo", n, Any, None, None))
                        client.end()
                    return float(BATCH)
                with _root():
                    for n in range(BATCH):
                        # what state.send_request("me:echo", n) does
                        with pywatt.tracing.client_span("me", "echo") as carrier:
                            await router.ask(SendRequest("me", "echo", n, Any, None, carrier))
                return float(BATCH)

            with _tracing(mode):
                return await arate_loop(batch, seconds)

    return run


def _sdk_span(seconds: float) -> float:
    """Spans made and ended per second by the SDK alone, as an ask span is made."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Dropped()))
    tracer = provider.get_tracer("bench")
    attributes = {"pywatt.actor.name": "doubler", "pywatt.message.type": "Double",
                  "pywatt.module.id": "me"}  # fmt: skip

    def batch() -> float:
        for _ in range(BATCH):
            tracer.start_span("ask doubler Double", attributes=attributes).end()
        return float(BATCH)

    try:
        with tracer.start_as_current_span("request"):
            return rate_loop(batch, seconds)
    finally:
        provider.shutdown()


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user and system) process ``pid`` has used so far; None where /proc does not
    say (not Linux, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TracedRouted:
    """The routed request's fixture with the modules' tracing as ``mode`` says; checked once,
    at its first run, before any timed run. Each run also measures the CPU time each module
    process spent per request; ``cpu`` (``{mode: {module: µs}}``, shared by the modes) gets
    the median over the runs so far."""

    def __init__(
        self, mode: str, pythonpath: str, cpu: dict[str, dict[str, float]] | None = None
    ) -> None:
        exporter = _drop_exporter.NAME if mode == "sdk_batch" else "none"
        env = {"OTEL_TRACES_EXPORTER": exporter, "PYTHONPATH": pythonpath}
        if mode == "sdk_floor":  # pywatt's tracing off, the SDK's work done by hand
            env[SDK_FLOOR_VARIABLE] = "1"
        self.mode = mode
        self.fixture = RoutedFixture(env=env, dashboard=False)
        self.checked = False
        self.cpu = {} if cpu is None else cpu
        self.cpu_us: dict[str, list[float]] = {module: [] for module in _MODULES}

    def run(self, seconds: float) -> float:
        if not self.checked:
            self._check()
            self.checked = True
        pids = {module: self.fixture.orch.module(module).pid for module in _MODULES}
        before = {module: _cpu_seconds(pid) for module, pid in pids.items()}
        result = self.fixture.measure(seconds, IN_FLIGHT)
        count = result["count"]
        for module, pid in pids.items():
            start, end = before[module], _cpu_seconds(pid)
            if start is not None and end is not None and count:
                self.cpu_us[module].append((end - start) / count * 1e6)
        medians = {m: round(statistics.median(us), 1) for m, us in self.cpu_us.items() if us}
        self.cpu[self.mode] = medians
        return float(count) / float(result["elapsed"])

    def _check(self) -> None:
        self.fixture.measure(0.1, 4)
        ping = self.fixture.request("ping", "spans_seen", None)
        pong = self.fixture.request("pong", "spans_seen", None)
        if self.mode == "untraced":
            if ping["kinds"] or pong["kinds"]:
                raise RuntimeError(f"untraced modules made spans: {ping} {pong}")
            return
        shared = set(ping["traces"]) & set(pong["traces"])
        if not (ping["kinds"].get("CLIENT") and pong["kinds"].get("SERVER") and shared):
            raise RuntimeError(
                "the traced routed request is not traced across the modules: ping's exporter "
                f"was handed {ping['kinds']}, pong's {pong['kinds']}, in {len(shared)} "
                "shared traces"
            )

    def close(self) -> None:
        self.fixture.close()


_MODULES: Final = ("ping", "pong")


def _routed(bench: Bench) -> None:
    """The ``traced_routed_request`` case, its ratio and target; its cleanup in the meta."""
    registry = tempfile.mkdtemp(prefix="pywatt-bench-otel-")
    pythonpath = _drop_exporter.registration(registry)
    cpu: dict[str, dict[str, float]] = {}
    fixtures = {mode: TracedRouted(mode, pythonpath, cpu) for mode in ROUTED_MODES}
    settings = (
        Settings(repetitions=3, seconds=0.4, warmup_seconds=0.2)
        if bench.quick
        else Settings(repetitions=5, seconds=2.0, warmup_seconds=0.5)
    )
    case = bench.case("traced_routed_request", unit="requests/s", settings=settings)
    for mode, fixture in fixtures.items():
        case.add(mode, fixture.run)
    ratio = bench.ratio(
        "traced_routed_request",
        "sdk_batch",
        "untraced",
        name="traced_routed_request_sdk_batch_vs_untraced",
    )
    bench.target(ratio, ">=", SDK_TARGET)
    bench.ratio(
        "traced_routed_request",
        "sdk_floor",
        "untraced",
        name="traced_routed_request_sdk_floor_vs_untraced",
    )
    bench.ratio(
        "traced_routed_request",
        "sdk_batch",
        "sdk_floor",
        name="traced_routed_request_sdk_batch_vs_sdk_floor",
    )
    bench.meta["traced_routed_request"] = {
        "untraced": "module ping asks pong:echo on the direct line the embedded orchestrator "
        "granted them, 16 in flight, OTEL_TRACES_EXPORTER=none in both modules (the API "
        "alone: no api_only mode, it is this by construction)",
        "sdk_batch": "the same, OTEL_TRACES_EXPORTER naming an exporter that drops spans: "
        "the SDK, a BatchSpanProcessor; a client span in ping and a server span in pong per "
        "request, inside one sampled trace per run (rooted at ping's span of the run request)",
        "sdk_floor": "pywatt's tracing off (OTEL_TRACES_EXPORTER=none), each module doing by "
        "hand with an SDK provider of its own (same processor and exporter) only what the SDK "
        "does for a traced request: the client span and the server span with pywatt's names, "
        "kinds and attributes, the traceparent written with an f-string into the payload and "
        "read with a split: the bound under any instrumentation (sdk_batch / sdk_floor is "
        "pywatt's own share)",
        "dashboard": "off (it would ask the modules for their spans too)",
        "cpu_us_per_request": cpu,
        "cpu_us_per_request_means": "median over the runs of the CPU time (user and system) "
        "each module process spent per request, from /proc: what tracing costs a process is "
        "sdk_batch's minus untraced's (more than the span work alone: see docs/tracing.md)",
    }

    def cleanup() -> None:
        for fixture in fixtures.values():
            fixture.close()
        shutil.rmtree(registry, ignore_errors=True)

    bench.meta["cleanup"] = [cleanup]


def define(bench: Bench) -> None:
    case = bench.case("traced_ask", unit="asks/s")
    for mode in MODES:
        if mode != "sdk_floor":  # an ask's floor is sdk_span
            case.add(mode, _asks(mode))
    for mode, target in (("api_only", API_ONLY_TARGET), ("sdk_batch", SDK_TARGET)):
        ratio = bench.ratio("traced_ask", mode, "untraced", name=f"traced_ask_{mode}_vs_untraced")
        bench.target(ratio, ">=", target)
    # The request to the module's own endpoint pays both spans in one process: reported, no
    # targets (the SDK's own work bounds it, sdk_floor); the routed request has them.
    case = bench.case("traced_request", unit="requests/s")
    for mode in MODES:
        if mode != "sdk_ask_spans":  # a request's asks are spanned by its client span already
            case.add(mode, _requests(mode))
    for mode in ("api_only", "sdk_batch"):
        bench.ratio("traced_request", mode, "untraced", name=f"traced_request_{mode}_vs_untraced")
    _routed(bench)
    # The bound the SDK itself sets, and pywatt's share of what is left (no targets).
    bench.ratio(
        "traced_request", "sdk_floor", "untraced", name="traced_request_sdk_floor_vs_untraced"
    )
    bench.ratio(
        "traced_request", "sdk_batch", "sdk_floor", name="traced_request_sdk_batch_vs_sdk_floor"
    )
    bench.meta["traced_ask"] = {
        "untraced": "no tracer provider, no trace",
        "api_only": "the OpenTelemetry API's proxy provider (no SDK), inside an API span",
        "sdk_batch": "SDK TracerProvider, BatchSpanProcessor, an exporter that drops spans; "
        "inside a sampled span: the context carried in every ask, no span per ask (default)",
        "sdk_ask_spans": "as sdk_batch with PYWATT_TRACE_ASKS=1: one child span per ask",
        "sdk_sampled": f"as sdk_batch, a new trace per {BATCH} asks, {SAMPLED:.0%} of traces "
        "kept (parentbased_traceidratio); no target",
    }
    bench.meta["traced_request"] = {
        "untraced": "a request to the module's own endpoint through the router",
        "api_only": "the same inside an API span without an SDK",
        "sdk_batch": "the same under the SDK: a client span and a server span per request",
        "sdk_sampled": f"as sdk_batch, a new trace per {BATCH} requests, {SAMPLED:.0%} kept",
        "sdk_floor": "untraced, plus the SDK's own work for a traced request in the same loop "
        "(client and server span with the same attributes, inject, extract; same processor): "
        "the bound under sdk_batch",
    }
    bench.case("sdk_span", unit="spans/s").add("opentelemetry_sdk", _sdk_span)
    bench.meta["sdk_span"] = {
        "opentelemetry_sdk": "tracer.start_span(name, attributes=3).end() in a loop, "
        "BatchSpanProcessor with a dropping exporter: the floor under one span per ask"
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
    cleanups: list[Any] = []

    def _define(bench: Bench) -> None:
        define(bench)
        cleanups.extend(bench.meta.pop("cleanup"))

    try:
        status = main("observability", _define)
    finally:
        for cleanup in cleanups:
            cleanup()
    raise SystemExit(status)
