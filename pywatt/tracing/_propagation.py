"""W3C trace context in and out of carriers (HTTP headers, ``Message.metadata.properties``,
stream metadata), through OpenTelemetry's global propagator (W3C ``traceparent`` /
``tracestate`` and baggage unless ``OTEL_PROPAGATORS`` says otherwise).

While the global propagator is the default one (W3C trace context, with or without W3C
baggage, as ``OTEL_PROPAGATORS`` unset gives), the common case is read and written here
directly: a version-00 ``traceparent`` without ``tracestate`` or baggage, which is a fixed
format. It gives exactly what the propagator would (the same context, the same fields) in
about half its time: no getter and setter objects, no composite loop, one anchored match of
a fixed pattern. Anything else (a ``tracestate``, baggage, another version, a malformed
field, a propagator set by ``OTEL_PROPAGATORS`` or by code) goes through the propagator."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._switch import STATE

__all__ = ["carrier_of", "context_of", "extract", "inject"]

_TRACEPARENT: Final = "traceparent"
_TRACESTATE: Final = "tracestate"
_BAGGAGE: Final = "baggage"
_PARENT: Final = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
"""A version-00 ``traceparent`` as pywatt (and every W3C tracer) writes it, and nothing else
(the propagator also takes surrounding blanks and later versions: those go to it)."""
_DEFAULT_PARTS: Final = (
    (TraceContextTextMapPropagator,),
    (TraceContextTextMapPropagator, W3CBaggagePropagator),
)
_EMPTY: Final = otel_context.Context()
_get_global_textmap = propagate.get_global_textmap
_get_current = otel_context.get_current
_get_current_span = trace.get_current_span
_set_span_in_context = trace.set_span_in_context
_get_baggage = baggage.get_all


class _Checked:
    """Whether the global propagator (the last one seen) is the default W3C one."""

    __slots__ = ("default", "textmap")

    def __init__(self) -> None:
        self.textmap: TextMapPropagator | None = None
        self.default = False


_CHECKED = _Checked()


def _is_default(textmap: TextMapPropagator) -> bool:
    """W3C trace context alone, or in a composite with W3C baggage after it: the propagator
    that ``OTEL_PROPAGATORS`` unset (``tracecontext,baggage``) or ``tracecontext`` makes."""
    if type(textmap) is TraceContextTextMapPropagator:
        return True
    if type(textmap) is not CompositePropagator:
        return False
    parts = getattr(textmap, "_propagators", None)  # a composite's parts, in order
    if not isinstance(parts, list | tuple):
        return False
    return tuple(type(part) for part in parts) in _DEFAULT_PARTS


def _default() -> bool:
    textmap = _get_global_textmap()
    checked = _CHECKED
    if textmap is not checked.textmap:  # checked again whenever code sets another one
        checked.default = _is_default(textmap)
        checked.textmap = textmap
    return checked.default


def inject(carrier: dict[str, str] | None = None) -> dict[str, str] | None:
    """The current context's fields written into ``carrier`` (a new dict when None); None
    when tracing is off or nothing was written."""
    if STATE.tracer is None:
        return None
    out: dict[str, str] = {} if carrier is None else carrier
    context = _get_current()
    parent = _traceparent(_get_current_span(context), context)
    if parent is not None:
        out[_TRACEPARENT] = parent
    else:
        propagate.inject(out, context)
    return out or None


def carrier_of(span: Span, parent: otel_context.Context) -> dict[str, str] | None:
    """The fields of ``span`` (started in ``parent``) for a carrier: what the global
    propagator writes for ``parent`` with ``span`` current in it (None: nothing)."""
    found = _traceparent(span, parent)
    if found is not None:
        return {_TRACEPARENT: found}
    carrier: dict[str, str] = {}
    propagate.inject(carrier, _set_span_in_context(span, parent))
    return carrier or None


def _traceparent(span: Span, context: otel_context.Context) -> str | None:
    """The ``traceparent`` the default propagator writes for ``span`` in ``context`` when it
    is all it writes (a valid span without ``tracestate``, no baggage); None otherwise."""
    if not _default() or _get_baggage(context):
        return None
    found = span.get_span_context()
    if not found.is_valid or found.trace_state:
        return None
    return f"00-{found.trace_id:032x}-{found.span_id:016x}-{found.trace_flags:02x}"


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The context ``carrier`` names (None: none, or tracing is off). Malformed fields are
    ignored by the propagator, as the W3C rules say."""
    if STATE.tracer is None or not carrier:
        return None
    return context_of(carrier)


def context_of(carrier: Mapping[str, str]) -> otel_context.Context:
    """``propagate.extract(carrier)``, read here for a version-00 ``traceparent`` without
    ``tracestate`` or baggage while the propagator is the default one."""
    if _TRACESTATE not in carrier and _BAGGAGE not in carrier and _default():
        header = carrier.get(_TRACEPARENT)
        match = _PARENT.fullmatch(header) if type(header) is str else None
        if match is not None:
            trace_hex, span_hex, flags = match.groups()
            trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
            if trace_id and span_id:  # all zeros: invalid, the propagator ignores it
                found = SpanContext(trace_id, span_id, True, TraceFlags(int(flags, 16)))
                return _set_span_in_context(NonRecordingSpan(found), _EMPTY)
    return propagate.extract(carrier)
