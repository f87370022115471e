"""Trace context read and written without the propagator's machinery while the global one is
the default (W3C trace context, W3C baggage): the same context and the same fields as the
propagator gives, for well-formed and malformed fields alike; anything else (``tracestate``,
baggage, another propagator) still goes through the propagator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as context_api
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import pywatt.tracing
from pywatt.tracing._propagation import carrier_of, context_of

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    assert pywatt.tracing.refresh(provider)
    try:
        yield provider
    finally:
        assert not pywatt.tracing.refresh()


@pytest.fixture
def textmap() -> Iterator[None]:
    """The global propagator put back after the test (which may set another one)."""
    before = propagate.get_global_textmap()
    try:
        yield
    finally:
        propagate.set_global_textmap(before)


def described(context: Context) -> tuple[Any, ...]:
    """What a context carries across a process: the remote span's context and the baggage."""
    found = trace.get_current_span(context).get_span_context()
    return (
        found.trace_id,
        found.span_id,
        found.is_remote,
        int(found.trace_flags),
        found.trace_state.to_header(),
        dict(baggage.get_all(context)),
    )


def test_the_default_propagator_is_the_w3c_one() -> None:
    parts = getattr(propagate.get_global_textmap(), "_propagators", ())
    assert [type(part) for part in parts] == [TraceContextTextMapPropagator, W3CBaggagePropagator]


@pytest.mark.parametrize(
    "carrier",
    [
        {"traceparent": f"00-{TRACE}-{SPAN}-01"},
        {"traceparent": f"00-{TRACE}-{SPAN}-00"},
        {"traceparent": f"00-{TRACE}-{SPAN}-03"},
        {"traceparent": f"00-{TRACE}-{SPAN}-01", "content-type": "application/json"},
        {"traceparent": f"00-{TRACE}-{SPAN}-01", "tracestate": "congo=t61rcWkgMzE,rojo=00f067"},
        {"traceparent": f"00-{TRACE}-{SPAN}-01", "baggage": "user=alice,tier=gold"},
        {"traceparent": f"00-{TRACE.upper()}-{SPAN}-01"},
        {"traceparent": f"00-{'0' * 32}-{SPAN}-01"},
        {"traceparent": f"00-{TRACE}-{'0' * 16}-01"},
        {"traceparent": f"ff-{TRACE}-{SPAN}-01"},
        {"traceparent": f"01-{TRACE}-{SPAN}-01-later"},
        {"traceparent": f"00-{TRACE}-{SPAN}-01-later"},
        {"traceparent": f" 00-{TRACE}-{SPAN}-01\t"},
        {"traceparent": ""},
        {"traceparent": "garbage"},
        {"other": "x"},
    ],
)
def test_extract_gives_what_the_propagator_gives(carrier: dict[str, str]) -> None:
    assert described(context_of(carrier)) == described(propagate.extract(carrier))


@given(st.text(alphabet="0123456789abcdefABx- \t", max_size=60))
def test_any_traceparent_is_read_as_the_propagator_reads_it(header: str) -> None:
    carrier = {"traceparent": header}
    assert described(context_of(carrier)) == described(propagate.extract(carrier))


@pytest.mark.parametrize("flags", [0, 1, 3])
@pytest.mark.parametrize("state", [None, TraceState([("rojo", "00f067")])])
@pytest.mark.parametrize("bags", [{}, {"user": "alice"}])
def test_the_carrier_of_a_span_is_what_the_propagator_writes(
    provider: TracerProvider, flags: int, state: TraceState | None, bags: dict[str, str]
) -> None:
    remote = SpanContext(int(TRACE, 16), int(SPAN, 16), True, TraceFlags(flags), state)
    parent = trace.set_span_in_context(NonRecordingSpan(remote), Context())
    for key, value in bags.items():
        parent = baggage.set_baggage(key, value, parent)
    span = provider.get_tracer("test").start_span("child", parent)
    written: dict[str, str] = {}
    propagate.inject(written, trace.set_span_in_context(span, parent))
    assert carrier_of(span, parent) == written
    token = context_api.attach(trace.set_span_in_context(span, parent))
    try:  # the public inject: the current context's fields
        assert pywatt.tracing.inject() == written
        into = {"content-type": "text/plain"}
        assert pywatt.tracing.inject(into) == {"content-type": "text/plain", **written}
    finally:
        context_api.detach(token)
    assert ("tracestate" in written) == (state is not None)
    assert ("baggage" in written) == bool(bags)


class Shouting(TextMapPropagator):
    """A propagator of another format: the trace id alone, in a header of its own."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        found = getter.get(carrier, "x-trace")
        if not found:
            return context or Context()
        remote = SpanContext(int(found[0], 16), 1, True, TraceFlags(1))
        return trace.set_span_in_context(NonRecordingSpan(remote), context or Context())

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        found = trace.get_current_span(context).get_span_context()
        setter.set(carrier, "x-trace", f"{found.trace_id:x}")

    @property
    def fields(self) -> set[str]:
        return {"x-trace"}


@pytest.mark.usefixtures("textmap")
@pytest.mark.parametrize(
    "configured",
    [
        Shouting(),
        CompositePropagator([Shouting()]),
        CompositePropagator([TraceContextTextMapPropagator(), Shouting()]),
    ],
)
def test_another_propagator_is_used_as_it_is(
    provider: TracerProvider, configured: TextMapPropagator
) -> None:
    propagate.set_global_textmap(configured)
    span = provider.get_tracer("test").start_span("child")
    carrier = carrier_of(span, Context())
    assert carrier is not None
    assert carrier["x-trace"] == f"{span.get_span_context().trace_id:x}"
    read: Mapping[str, str] = {"x-trace": TRACE, "traceparent": f"00-{TRACE}-{SPAN}-01"}
    assert described(context_of(read)) == described(propagate.extract(read))
    found = trace.get_current_span(context_of({"x-trace": TRACE})).get_span_context()
    assert f"{found.trace_id:032x}" == TRACE


def test_outside_a_trace_nothing_is_written(provider: TracerProvider) -> None:
    assert pywatt.tracing.inject() is None
    token = context_api.attach(baggage.set_baggage("user", "alice"))
    try:  # baggage alone still travels
        assert pywatt.tracing.inject() == {"baggage": "user=alice"}
    finally:
        context_api.detach(token)


@pytest.mark.usefixtures("textmap")
def test_the_trace_context_alone_is_read_fast_too(provider: TracerProvider) -> None:
    propagate.set_global_textmap(TraceContextTextMapPropagator())
    carrier = {"traceparent": f"00-{TRACE}-{SPAN}-01", "baggage": "user=alice"}
    assert described(context_of(carrier)) == described(propagate.extract(carrier))
    assert not baggage.get_all(context_of(carrier))  # this propagator reads no baggage
