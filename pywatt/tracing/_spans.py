"""The spans pywatt makes. Each helper returns at once (a shared no-op context manager, or
``None``) while tracing is off, so an instrumented place costs a global test."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import _names as n
from ._propagation import carrier_of, extract, inject
from ._switch import STATE

__all__ = [
    "activated",
    "asgi_server_span",
    "cache_span",
    "client_span",
    "db_span",
    "end_http_span",
    "end_span",
    "gateway_span",
    "http_server_span",
    "jwt_span",
    "server_span",
    "span",
    "trace_carrier",
]

_NOTHING: AbstractContextManager[Any] = nullcontext()
_attach = otel_context.attach
_detach = otel_context.detach
_get_current = otel_context.get_current
_get_current_span = trace.get_current_span
_set_span_in_context = trace.set_span_in_context
_SHAPES = 1024
"""Span shapes (kind, name, attributes) kept per request target: most recently used."""


class _Current:
    """``span`` current around a block, without ending it: ``trace.use_span`` without its
    generator and exception bookkeeping, which a request pays twice (about 5 µs each)."""

    __slots__ = ("span", "token")

    def __init__(self, span: Span) -> None:
        self.span = span

    def __enter__(self) -> None:
        self.token = _attach(_set_span_in_context(self.span))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _detach(self.token)


class _Block:
    """A span current around a block and ended with it, failed if the block raised: what
    ``start_as_current_span`` does, without its generator-based context manager."""

    __slots__ = ("span", "token")

    def __init__(self, span: Span) -> None:
        self.span = span

    def __enter__(self) -> Span:
        self.token = _attach(_set_span_in_context(self.span))
        return self.span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _detach(self.token)
        end_span(self.span, error)


class _ClientSpan:
    """A client (or producer) span around a block that gets the carrier of its context;
    ended, failed if the block raised, when the block ends. The span is not made current:
    the block only hands the carrier to the router, which serves the request in the
    carrier's context (an attach and a detach per request saved)."""

    __slots__ = ("carrier", "span")

    def __init__(self, span: Span, carrier: dict[str, str] | None) -> None:
        self.span = span
        self.carrier = carrier

    def __enter__(self) -> dict[str, str] | None:
        return self.carrier

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        end_span(self.span, error)


def _unsampled() -> bool:
    """Inside a trace that is not sampled: pywatt makes no spans there (the SDK would make
    non-recording ones, at most of the cost of real ones), only carries the context on.
    Read from the trace flags, not from whether the current span still records: a tell's
    work may run after the span it was sent in has ended, and is still in its trace."""
    current = trace.get_current_span().get_span_context()
    return current.is_valid and not current.trace_flags.sampled


def _attributes(extra: Mapping[str, Any], module_id: str | None) -> dict[str, Any]:
    """``extra`` and ``pywatt.module.id`` (when this process is a module)."""
    attributes = dict(extra)
    if module_id is not None:
        attributes[n.MODULE_ID] = module_id
    return attributes


def span(
    name: str, attributes: Mapping[str, Any], kind: SpanKind = SpanKind.INTERNAL
) -> AbstractContextManager[Span | None]:
    """A current span around a block (the block sees ``None`` while tracing is off, and
    inside a trace that is not sampled)."""
    tracer = STATE.tracer
    if tracer is None or _unsampled():
        return _NOTHING
    return _Block(
        tracer.start_span(name, kind=kind, attributes=_attributes(attributes, STATE.module_id))
    )


def client_span(
    target: str, endpoint: str, *, notify: bool = False
) -> AbstractContextManager[dict[str, str] | None]:
    """The caller's span of an inter-module request (``notify``: a notification), started
    now and ended when the block ends; the block gets the carrier of its context to put in
    the request's metadata (None while tracing is off). The span is not current inside
    the block: the carrier is how the request continues the trace."""
    tracer = STATE.tracer
    if tracer is None:
        return _NOTHING
    parent = _get_current()
    current = _get_current_span(parent).get_span_context()
    if current.is_valid and not current.trace_flags.sampled:
        # inside a trace not sampled: no span; the context (not sampled) still goes along
        return nullcontext(inject())
    kind, name, attributes = _client_shape(notify, target, endpoint, STATE.module_id)
    span_ = tracer.start_span(name, parent, kind, attributes)
    return _ClientSpan(span_, carrier_of(span_, parent))


def _request_shape(
    notify: bool, module: str, endpoint: str, *, caller: bool
) -> tuple[SpanKind, str, dict[str, Any]]:
    """Kind, name and attributes of one side of an inter-module request (RPC conventions) or
    notification (messaging conventions); ``module`` is the module the request is for."""
    if notify:
        operation = "send" if caller else "process"
        attributes: dict[str, Any] = {
            n.MESSAGING_SYSTEM: n.RPC_SYSTEM_VALUE,
            n.MESSAGING_DESTINATION: f"{module}:{endpoint}",
            n.MESSAGING_OPERATION: operation,
        }
        kind = SpanKind.PRODUCER if caller else SpanKind.CONSUMER
        return kind, f"{operation} {module}:{endpoint}", attributes
    attributes = {n.RPC_SYSTEM: n.RPC_SYSTEM_VALUE, n.RPC_SERVICE: module, n.RPC_METHOD: endpoint}
    return SpanKind.CLIENT if caller else SpanKind.SERVER, f"{module}/{endpoint}", attributes


@lru_cache(maxsize=_SHAPES)
def _client_shape(
    notify: bool, module: str, endpoint: str, module_id: str | None
) -> tuple[SpanKind, str, Mapping[str, Any]]:
    """The caller's side of a request, built once per target (the SDK copies the
    attributes into each span: this dict is never changed)."""
    kind, name, attributes = _request_shape(notify, module, endpoint, caller=True)
    return kind, name, _attributes(attributes, module_id)


@lru_cache(maxsize=_SHAPES)
def _server_shape(
    notify: bool, module_id: str | None, endpoint: str, source: str, actor: str | None
) -> tuple[SpanKind, str, Mapping[str, Any]]:
    """The callee's side of a request, built once per endpoint and caller."""
    kind, name, attributes = _request_shape(notify, module_id or "", endpoint, caller=False)
    attributes["pywatt.source.module.id"] = source
    if actor is not None:
        attributes[n.ACTOR] = actor
    return kind, name, _attributes(attributes, module_id)


def server_span(
    carrier: Mapping[str, str] | None,
    source: str,
    endpoint: str | None,
    *,
    actor: str | None = None,
    notify: bool = False,
) -> Span | None:
    """The callee's span of an inter-module request, child of ``carrier``'s context; not
    made current (the caller does, where the handler runs, and ends it). None while off."""
    tracer = STATE.tracer
    if tracer is None:
        return None
    kind, name, attributes = _server_shape(notify, STATE.module_id, endpoint or "", source, actor)
    return tracer.start_span(name, extract(carrier), kind, attributes)


def http_server_span(
    headers: Mapping[str, str], method: str, path: str, *, name: str | None = None
) -> Span | None:
    """An HTTP server span (the gateway's hop, a module's app), child of the request's
    ``traceparent``; not made current. None while off."""
    tracer = STATE.tracer
    if tracer is None:
        return None
    attributes = {n.HTTP_METHOD: method, n.URL_PATH: path}
    return tracer.start_span(
        name or method,
        context=extract(headers),
        kind=SpanKind.SERVER,
        attributes=_attributes(attributes, STATE.module_id),
    )


def db_span(actor: str, statement: str) -> AbstractContextManager[Span | None]:
    """A database statement's span: the SQL text with its placeholders, never the values."""
    if STATE.tracer is None:
        return _NOTHING
    operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    return span(
        operation,
        {n.DB_STATEMENT: statement, n.DB_OPERATION: operation, n.ACTOR: actor},
        SpanKind.CLIENT,
    )


def cache_span(actor: str, operation: str) -> AbstractContextManager[Span | None]:
    """A cache operation's span (the keys and values are not recorded)."""
    if STATE.tracer is None:
        return _NOTHING
    return span(
        f"cache {operation}",
        {n.DB_OPERATION: operation, n.CACHE_NAME: actor, n.ACTOR: actor},
        SpanKind.CLIENT,
    )


def jwt_span() -> AbstractContextManager[Span | None]:
    """A JWT validation's span."""
    if STATE.tracer is None:
        return _NOTHING
    return span("jwt validate", {})


def activated(span_: Span | None) -> AbstractContextManager[Any]:
    """Make ``span_`` current around a block, without ending it (nothing for None)."""
    if span_ is None:
        return _NOTHING
    return _Current(span_)


def end_span(span_: Span | None, error: BaseException | None = None) -> None:
    """End ``span_`` (nothing for None), recording ``error`` as its failure."""
    if span_ is None:
        return
    if error is not None and span_.is_recording():
        span_.record_exception(error)
        span_.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span_.end()


def trace_carrier(properties: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The trace context fields among a message's ``metadata.properties`` (None: none).
    Fields that are not strings are ignored, as a propagator ignores malformed ones."""
    if not properties or STATE.tracer is None:
        return None
    carrier = {key: value for key in _FIELDS if isinstance(value := properties.get(key), str)}
    return carrier or None


_FIELDS = ("traceparent", "tracestate", "baggage")


def asgi_server_span(scope: Mapping[str, Any]) -> Span | None:
    """:func:`http_server_span` for an ASGI HTTP scope (its headers carry the context)."""
    if STATE.tracer is None:
        return None
    headers = {
        bytes(name).decode("latin-1").lower(): bytes(value).decode("latin-1")
        for name, value in scope.get("headers") or ()
    }
    method = str(scope.get("method", "GET"))
    return http_server_span(headers, method, str(scope.get("path", "/")))


def end_http_span(span_: Span | None, method: str, route: str | None, status: int) -> None:
    """Name an HTTP server span by its route template (``GET /orders/{id}``), record the
    status (5xx is an error, as the conventions say for a server) and end it."""
    if span_ is None:
        return
    if route:
        span_.update_name(f"{method} {route}")
        span_.set_attribute(n.HTTP_ROUTE, route)
    span_.set_attribute(n.HTTP_STATUS, status)
    if status >= 500:
        span_.set_status(Status(StatusCode.ERROR))
    span_.end()


def gateway_span(headers: Mapping[str, str], method: str, path: str, module: str) -> Span | None:
    """The gateway's hop to ``module``: an HTTP server span, child of the client's
    ``traceparent`` (a new trace without one). None while off."""
    if STATE.tracer is None:
        return None
    span_ = http_server_span(headers, method, path, name=f"{method} {module}")
    if span_ is not None:
        span_.set_attribute("pywatt.target.module.id", module)
    return span_
