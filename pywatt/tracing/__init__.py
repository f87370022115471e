"""Distributed tracing on OpenTelemetry (docs/tracing.md).

pywatt depends on the OpenTelemetry API only. With no SDK configured every instrumented
place costs one global test. With one (``pip install 'pywatt[tracing]'`` and
``OTEL_TRACES_EXPORTER=otlp``, or a ``TracerProvider`` set by your code), W3C trace context
travels through the gateway, in inter-module requests and notifications, and across actor
mailboxes, and pywatt makes spans for the gateway hop, HTTP requests, inter-module requests
(both sides), database statements, cache operations and JWT validation, and (with
``PYWATT_TRACE_ASKS=1``) for actor asks made inside a trace. Finished spans also reach the
orchestrator's dashboard (:class:`SpanBuffer`, docs/observability.md).
"""

from opentelemetry.trace import Span as Span

from ._errors import TracingUnavailable as TracingUnavailable
from ._propagation import extract as extract
from ._propagation import inject as inject
from ._setup import setup_tracing as setup_tracing
from ._setup import shutdown_tracing as shutdown_tracing
from ._span_json import BadSpan as BadSpan
from ._span_json import SpanEncoder as SpanEncoder
from ._span_json import span_from_json as span_from_json
from ._span_json import span_to_json as span_to_json
from ._spans import activated as activated
from ._spans import asgi_server_span as asgi_server_span
from ._spans import cache_span as cache_span
from ._spans import client_span as client_span
from ._spans import db_span as db_span
from ._spans import end_http_span as end_http_span
from ._spans import end_span as end_span
from ._spans import gateway_span as gateway_span
from ._spans import http_server_span as http_server_span
from ._spans import jwt_span as jwt_span
from ._spans import server_span as server_span
from ._spans import span as span
from ._spans import trace_carrier as trace_carrier
from ._switch import TRACE_ASKS as TRACE_ASKS
from ._switch import enabled as enabled
from ._switch import refresh as refresh
from ._switch import set_module_id as set_module_id
from ._tap import SpanBuffer as SpanBuffer
from ._tap import tap_spans as tap_spans

__all__ = [
    "TRACE_ASKS",
    "BadSpan",
    "Span",
    "SpanBuffer",
    "SpanEncoder",
    "TracingUnavailable",
    "activated",
    "asgi_server_span",
    "cache_span",
    "client_span",
    "db_span",
    "enabled",
    "end_http_span",
    "end_span",
    "extract",
    "gateway_span",
    "http_server_span",
    "inject",
    "jwt_span",
    "refresh",
    "server_span",
    "set_module_id",
    "setup_tracing",
    "shutdown_tracing",
    "span",
    "span_from_json",
    "span_to_json",
    "tap_spans",
    "trace_carrier",
]
