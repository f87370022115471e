"""The dashboard's traces: what handing finished spans to the orchestrator costs a traced
process, and what taking them costs the orchestrator.

* ``finished_span`` (spans/s): the SDK making and ending a span with a module's usual
  attributes (a server span of an inter-module request: five), under a
  ``BatchSpanProcessor`` whose exporter drops what it is handed. ``sdk_batch``: that alone.
  ``sdk_batch_dashboard``: the same with the dashboard's tap on the provider and a
  :class:`~pywatt.tracing.SpanBuffer` attached, drained in this thread every 128 spans and
  each span turned into its redacted JSON by a :class:`~pywatt.tracing.SpanEncoder`, as a
  module's ``pywatt.spans`` actor does before it writes a ``spans`` line (the line's
  encoding and the link's write are not counted).
  Target: at least 0.7 of ``sdk_batch``.
* ``ring_intake_span_us``: the orchestrator's time per span to check, redact and file the
  spans of 128-span lines into the ring (100 traces of 5 spans, kept turning over), with
  the console's redactor holding 20 secrets.

    python -m benchmarks.dashboard_traces [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import pywatt.tracing
from benchmarks._harness import Bench, main, rate_loop
from pywatt.logs import Redactor, redactor
from pywatt.orchestrator.dashboard import TraceRing
from pywatt.tracing import SpanBuffer, SpanEncoder

BATCH: Final = 128
TARGET: Final = 0.7
ATTRIBUTES: Final = {
    "rpc.system": "pywatt",
    "rpc.service": "back",
    "rpc.method": "lookup",
    "pywatt.source.module.id": "front",
    "pywatt.module.id": "back",
}


class _Dropped(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _spans(dashboard: bool) -> object:
    def run(seconds: float) -> float:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_Dropped()))
        tracer = provider.get_tracer("bench")
        buffer = SpanBuffer()
        encode = SpanEncoder(redactor)
        if dashboard:
            assert pywatt.tracing.refresh(provider)
            assert buffer.attach()
        sent = [0]

        def batch() -> float:
            with tracer.start_as_current_span("GET /order/{number}"):
                for _ in range(BATCH - 1):
                    tracer.start_span("back/lookup", attributes=ATTRIBUTES).end()
            if dashboard:
                spans, _ = buffer.drain(BATCH)
                sent[0] += len([encode(span) for span in spans])
            return float(BATCH)

        try:
            return rate_loop(batch, seconds)
        finally:
            if buffer.detach is not None:
                buffer.detach()
                assert sent[0] > 0
            pywatt.tracing.refresh()
            provider.shutdown()

    return run


def _ring_intake_us() -> float:
    console = Redactor()
    console.register(*(f"secret-value-{n:04d}-of-the-modules" for n in range(20)))
    ring = TraceRing(console.redact)
    lines = []
    for line in range(40):
        spans = []
        for n in range(BATCH):
            trace = (line * BATCH + n) // 5
            spans.append(
                {"trace_id": f"{trace + 1:032x}", "span_id": f"{line * BATCH + n + 1:016x}",
                 "parent_id": None, "name": "back/lookup", "kind": "server",
                 "start_ns": 1_000 * n, "end_ns": 1_000 * n + 500, "status": "unset",
                 "status_message": None, "service": "back", "attributes": dict(ATTRIBUTES)}
            )  # fmt: skip
        lines.append(spans)
    began = time.perf_counter()
    for spans in lines:
        ring.add("back", spans)
    elapsed = time.perf_counter() - began
    assert len(ring) == ring.keep
    return elapsed / (len(lines) * BATCH) * 1e6


def define(bench: Bench) -> None:
    case = bench.case("finished_span", unit="spans/s")
    case.add("sdk_batch", _spans(False))  # type: ignore[arg-type]
    case.add("sdk_batch_dashboard", _spans(True))  # type: ignore[arg-type]
    bench.target(bench.ratio("finished_span", "sdk_batch_dashboard", "sdk_batch"), ">=", TARGET)
    bench.metric("ring_intake_span_us", _ring_intake_us)
    bench.meta["finished_span"] = {
        "sdk_batch": f"SDK spans (1 parent, {BATCH - 1} children with 5 attributes), "
        "BatchSpanProcessor with a dropping exporter",
        "sdk_batch_dashboard": "the same with the dashboard's tap and buffer, drained and "
        "turned into redacted JSON every batch in this thread",
    }


if __name__ == "__main__":
    raise SystemExit(main("dashboard_traces", define))
