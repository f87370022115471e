"""An SDK tracer provider of the test's own (never the process's global one, so the rest of
the suite runs untraced), its spans kept in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import pywatt.tracing


class Spans:
    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider) -> None:
        self.exporter = exporter
        self.provider = provider

    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        found = [s for s in self.finished() if s.name == name]
        assert len(found) == 1, (name, [s.name for s in self.finished()])
        return found[0]


@pytest.fixture
def spans() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert pywatt.tracing.refresh(provider)
    pywatt.tracing.set_module_id("me")
    try:
        yield Spans(exporter, provider)
    finally:
        pywatt.tracing.set_module_id(None)
        assert not pywatt.tracing.refresh()


@pytest.fixture
def ask_spans(spans: Spans, monkeypatch: pytest.MonkeyPatch) -> Spans:
    """As ``spans``, with ``PYWATT_TRACE_ASKS=1``: every ask inside a trace is a span."""
    monkeypatch.setenv(pywatt.tracing.TRACE_ASKS, "1")
    assert pywatt.tracing.refresh(spans.provider)
    return spans


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None
