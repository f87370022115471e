"""What the dashboard keeps of tracing: the latest traces, each with its spans, bounded.

Spans arrive from the orchestrator's own tracing (the gateway's hop) and from the modules
(``spans`` lines); a trace is put together from its spans by their trace id, wherever they
came from. Memory is bounded: :data:`KEEP` traces, :data:`SPANS_PER_TRACE` spans each, every
span's texts and attributes bounded by :func:`pywatt.tracing.span_from_json`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any, Final

from pywatt.tracing import BadSpan, span_from_json

__all__ = ["KEEP", "ORCHESTRATOR", "SPANS_PER_TRACE", "TraceRing"]

KEEP: Final = 100
"""Traces kept: the ones most recently added to."""
SPANS_PER_TRACE: Final = 256
"""Spans kept per trace (the first to arrive); later ones are counted as dropped."""
ORCHESTRATOR: Final = "orchestrator"
"""The ``source`` of the orchestrator's own spans."""
_MODULE_ID: Final = "pywatt.module.id"
_ACTOR: Final = "pywatt.actor.name"


class _Trace:
    __slots__ = ("dropped", "spans")

    def __init__(self) -> None:
        self.spans: dict[str, dict[str, Any]] = {}
        self.dropped = 0


class TraceRing:
    """The latest :data:`KEEP` traces. Lives outside every actor (the orchestrator keeps it):
    what a restarted collector or process actor adds goes to the same ring."""

    def __init__(
        self,
        redact: Callable[[str], str],
        keep: int = KEEP,
        spans_per_trace: int = SPANS_PER_TRACE,
    ) -> None:
        self.redact = redact
        self.keep = keep
        self.spans_per_trace = spans_per_trace
        self._traces: collections.OrderedDict[str, _Trace] = collections.OrderedDict()
        self.version = 0
        """Counts the changes (the live stream pushes the list when it moved)."""
        self.dropped = 0
        """Spans lost on the way: dropped by a module under pressure, or over a trace's cap."""
        self.rejected = 0
        """Spans refused as malformed."""
        self._summaries: tuple[int, list[dict[str, Any]]] = (-1, [])

    def add(self, source: str, spans: Iterable[object], dropped: int = 0) -> list[BadSpan]:
        """Add the spans ``source`` (a module id, or :data:`ORCHESTRATOR`) sent; returns the
        errors of those refused as malformed (the others are kept). Does not block."""
        errors: list[BadSpan] = []
        self.dropped += dropped
        for data in spans:
            try:
                span = span_from_json(data, self.redact)
            except BadSpan as exc:
                self.rejected += 1
                errors.append(exc)
                continue
            span["source"] = source
            self._put(span)
        self.version += 1
        return errors

    def _put(self, span: dict[str, Any]) -> None:
        trace_id = span["trace_id"]
        found = self._traces.get(trace_id)
        if found is None:
            found = self._traces[trace_id] = _Trace()
            while len(self._traces) > self.keep:
                self._traces.popitem(last=False)
        else:
            self._traces.move_to_end(trace_id)
        if span["span_id"] in found.spans:  # the same span twice (two taps in one process)
            return
        if len(found.spans) >= self.spans_per_trace:
            found.dropped += 1
            self.dropped += 1
            return
        found.spans[span["span_id"]] = span

    def __len__(self) -> int:
        return len(self._traces)

    def summaries(self) -> list[dict[str, Any]]:
        """Every trace kept, the latest-started first: its root span's name, duration, the
        modules it went through, whether a span failed."""
        version, rows = self._summaries
        if version != self.version:  # every page's stream asks each second: once per change
            rows = [_summary(trace_id, trace) for trace_id, trace in self._traces.items()]
            rows.sort(key=lambda row: row["start_ns"], reverse=True)
            self._summaries = (self.version, rows)
        return list(rows)

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace with its spans in waterfall order (each after its parent, ``depth`` its
        nesting; ``offset_ms`` and ``duration_ms`` from the trace's start); None: not kept."""
        found = self._traces.get(trace_id.lower())
        if found is None:
            return None
        summary = _summary(trace_id.lower(), found)
        start = summary["start_ns"]
        rows = []
        for span, depth in _waterfall(found.spans):
            attributes = span["attributes"]
            rows.append(
                {
                    **span,
                    "depth": depth,
                    "offset_ms": (span["start_ns"] - start) / 1e6,
                    "duration_ms": (span["end_ns"] - span["start_ns"]) / 1e6,
                    "module": _module_of(span),
                    "actor": attributes.get(_ACTOR),
                }
            )
        return {**summary, "spans": rows}


def _module_of(span: dict[str, Any]) -> str | None:
    module = span["attributes"].get(_MODULE_ID)
    if isinstance(module, str):
        return module
    return None if span["source"] == ORCHESTRATOR else str(span["source"])


def _roots(spans: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans whose parent is not in the trace (not received, or outside pywatt), earliest
    first."""
    roots = [s for s in spans.values() if s["parent_id"] not in spans]
    # Parents that loop (a peer's nonsense) leave no root: the earliest span stands in.
    return sorted(roots or spans.values(), key=lambda s: (s["start_ns"], -s["end_ns"]))


def _summary(trace_id: str, trace: _Trace) -> dict[str, Any]:
    spans = trace.spans
    start = min(s["start_ns"] for s in spans.values())
    end = max(s["end_ns"] for s in spans.values())
    root = _roots(spans)[0]
    modules = sorted({m for s in spans.values() if (m := _module_of(s)) is not None})
    return {
        "trace_id": trace_id,
        "root": root["name"],
        "root_source": root["source"],
        "start_ns": start,
        "at": start / 1e9,
        "duration_ms": (end - start) / 1e6,
        "modules": modules,
        "module_count": len(modules),
        "span_count": len(spans),
        "dropped": trace.dropped,
        "error": any(s["status"] == "error" for s in spans.values()),
    }


def _waterfall(spans: dict[str, dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    children: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for span in spans.values():
        if span["parent_id"] in spans:
            children[span["parent_id"]].append(span)
    ordered: list[tuple[dict[str, Any], int]] = []
    seen: set[str] = set()
    stack = [(root, 0) for root in reversed(_roots(spans))]
    while stack:
        span, depth = stack.pop()
        if span["span_id"] in seen:
            continue
        seen.add(span["span_id"])
        ordered.append((span, depth))
        kids = sorted(children.get(span["span_id"], ()), key=lambda s: s["start_ns"])
        stack.extend((kid, depth + 1) for kid in reversed(kids))
    ordered.extend((s, 0) for s in spans.values() if s["span_id"] not in seen)  # in a loop
    return ordered
