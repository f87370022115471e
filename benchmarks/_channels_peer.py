"""The two modules of the routed benchmark (one file, two roles).

Every module serves ``echo``. ``run`` (asked by the orchestrator) sends ``echo`` requests
to ``target`` for ``seconds`` with ``in_flight`` outstanding and answers with the count, the
elapsed time and the latency percentiles. ``spans_seen`` flushes the tracer provider's
batched spans and answers with what benchmarks/_drop_exporter.py was handed in this
process (nothing when it is not configured).

With ``PYWATT_BENCH_SDK_FLOOR=1`` (and pywatt's tracing off: ``OTEL_TRACES_EXPORTER=none``)
the module does by hand, with the OpenTelemetry SDK alone, what a traced request costs the
SDK: ``run`` is a server span, each ``echo`` request a client span (the names, kinds and
attributes pywatt gives them) whose ``traceparent`` goes in the payload, and ``echo`` a
server span, child of that context. The context is written and read in the fewest steps
(an f-string, a split), not through the propagator: only the SDK's own work is left, the
spans going through a ``BatchSpanProcessor`` to benchmarks/_drop_exporter.py. What no
instrumentation with the SDK can go below (benchmarks/observability.py, ``sdk_floor``).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's directory comes first on sys.path, and benchmarks/actors.py
# would shadow the actors package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import trio  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags  # noqa: E402

from pywatt import AppState, run_module  # noqa: E402

FLOOR = "PYWATT_BENCH_SDK_FLOOR"  # benchmarks/observability.py SDK_FLOOR_VARIABLE


def _floor_provider(module_id: str) -> Any:
    """An SDK provider of this module's own (not the global one: pywatt's tracing stays
    off), configured as pywatt configures one from ``OTEL_*``, with the drop exporter."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from benchmarks._drop_exporter import DropSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: module_id}))
    provider.add_span_processor(BatchSpanProcessor(DropSpanExporter()))
    return provider


async def main(state: AppState[Any]) -> None:
    me = state.module_id
    floor = _floor_provider(me) if os.environ.get(FLOOR) == "1" else None
    tracer = floor.get_tracer("pywatt") if floor is not None else None
    served = {  # a server span's attributes as pywatt gives them (the caller is ping)
        "rpc.system": "pywatt",
        "rpc.service": me,
        "rpc.method": "echo",
        "pywatt.source.module.id": "ping",
        "pywatt.module.id": me,
    }

    def echo(request: Any) -> Any:
        if tracer is not None:
            # the context travels beside the content, as in metadata: the reply is untraced
            _, trace_id, span_id, flags = request.pop("traceparent").split("-")
            context = SpanContext(
                int(trace_id, 16), int(span_id, 16), True, TraceFlags(int(flags, 16))
            )
            parent = trace.set_span_in_context(NonRecordingSpan(context))
            tracer.start_span(f"{me}/echo", parent, SpanKind.SERVER, served).end()
        return request

    @contextmanager
    def root() -> Iterator[None]:
        if tracer is None:
            yield
            return
        with tracer.start_as_current_span(f"{me}/run", kind=SpanKind.SERVER):
            yield

    async def run(request: dict[str, Any]) -> dict[str, float]:
        target = f"{request['target']}:echo"
        seconds = float(request["seconds"])
        latencies: list[float] = []
        clock = time.perf_counter
        start = clock()
        deadline = start + seconds

        async def worker() -> None:
            payload = {"n": 1, "text": "ping"}
            while clock() < deadline:
                sent = clock()
                await state.send_request(target, payload)
                latencies.append(clock() - sent)

        async def floor_worker(tracer: trace.Tracer) -> None:
            service = request["target"]
            attributes = {
                "rpc.system": "pywatt",
                "rpc.service": service,
                "rpc.method": "echo",
                "pywatt.module.id": me,
            }
            while clock() < deadline:
                sent = clock()
                client = tracer.start_span(f"{service}/echo", None, SpanKind.CLIENT, attributes)
                context = client.get_span_context()
                parent = (
                    f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
                )
                payload = {"n": 1, "text": "ping", "traceparent": parent}
                try:
                    await state.send_request(target, payload)
                finally:
                    client.end()
                latencies.append(clock() - sent)

        with root():
            async with trio.open_nursery() as nursery:
                for _ in range(int(request["in_flight"])):
                    if tracer is None:
                        nursery.start_soon(worker)
                    else:
                        nursery.start_soon(floor_worker, tracer)
        elapsed = clock() - start
        latencies.sort()
        return {
            "count": len(latencies),
            "elapsed": elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000.0,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000.0,
        }

    def spans_seen(request: Any) -> dict[str, Any]:
        flush = getattr(floor or trace.get_tracer_provider(), "force_flush", None)
        if callable(flush):
            flush()
        exporter = sys.modules.get("benchmarks._drop_exporter")
        seen: dict[str, Any] = exporter.seen() if exporter else {"kinds": {}, "traces": []}
        return seen

    await state.serve("echo", echo)
    await state.serve("run", run)
    await state.serve("spans_seen", spans_seen)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="WARNING"))
