"""A span exporter that keeps nothing, registered for the module processes of a benchmark.

``OTEL_TRACES_EXPORTER=pywatt-bench-drop`` in a module's environment, with
:func:`registration` on its ``PYTHONPATH``, gives it the SDK, a ``BatchSpanProcessor`` and
this exporter: the export thread's work without a receiver. The exporter counts what it is
handed (by span kind, and the trace ids seen), so a benchmark can check, outside its timed
part, that spans are really made and that a trace crosses the processes.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

NAME: Final = "pywatt-bench-drop"
"""The exporter's entry point name (``OTEL_TRACES_EXPORTER``)."""
TRACES_KEPT: Final = 64
"""Trace ids remembered (the most recent)."""
_DIST: Final = "pywatt_bench_drop-0.dist-info"


class DropSpanExporter(SpanExporter):
    """Counts the spans it is handed and drops them."""

    kinds: collections.Counter[str] = collections.Counter()
    """Spans exported in this process, by kind (``CLIENT``, ``SERVER`` ...)."""
    traces: collections.deque[str] = collections.deque(maxlen=TRACES_KEPT)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            DropSpanExporter.kinds[span.kind.name] += 1
            trace_id = f"{span.context.trace_id:032x}" if span.context else ""
            if trace_id not in DropSpanExporter.traces:
                DropSpanExporter.traces.append(trace_id)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def seen() -> dict[str, Any]:
    """What this process's exporters were handed so far: ``{"kinds": ..., "traces": ...}``."""
    return {"kinds": dict(DropSpanExporter.kinds), "traces": list(DropSpanExporter.traces)}


def registration(directory: str) -> str:
    """Write into ``directory`` the metadata that registers the exporter as :data:`NAME` in
    the ``opentelemetry_traces_exporter`` entry point group (how any package registers one)
    and return the ``PYTHONPATH`` a module process needs to find it and this package."""
    dist = os.path.join(directory, _DIST)
    os.makedirs(dist, exist_ok=True)
    with open(os.path.join(dist, "METADATA"), "w") as metadata:
        metadata.write("Metadata-Version: 2.1\nName: pywatt-bench-drop\nVersion: 0\n")
    with open(os.path.join(dist, "entry_points.txt"), "w") as points:
        points.write(f"[opentelemetry_traces_exporter]\n{NAME} = {__name__}:DropSpanExporter\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.pathsep.join([directory, root])
