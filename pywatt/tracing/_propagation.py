"""W3C trace context in and out of carriers (HTTP headers, ``Message.metadata.properties``,
stream metadata), through OpenTelemetry's global propagator (W3C ``traceparent`` /
``tracestate`` and baggage unless ``OTEL_PROPAGATORS`` says otherwise)."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate

from ._switch import STATE

__all__ = ["extract", "inject"]


def inject(carrier: dict[str, str] | None = None) -> dict[str, str] | None:
    """The current context's fields written into ``carrier`` (a new dict when None); None
    when tracing is off or nothing was written."""
    if STATE.tracer is None:
        return None
    out: dict[str, str] = {} if carrier is None else carrier
    propagate.inject(out)
    return out or None


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The context ``carrier`` names (None: none, or tracing is off). Malformed fields are
    ignored by the propagator, as the W3C rules say."""
    if STATE.tracer is None or not carrier:
        return None
    return propagate.extract(carrier)
