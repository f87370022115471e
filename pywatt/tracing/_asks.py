"""The ask tracer installed in the actor runtime while tracing is on (actors/_tracing.py):
an ask (``ask`` or ``ask_nowait``) or a tell made inside a trace carries the trace context in
its envelope, so what its handler does is part of the trace; with ``PYWATT_TRACE_ASKS=1`` an
ask is also a child span of its own (a tell never is).

Not by default: an SDK span costs about twice a whole pywatt ask, and a handler that asks a
few actors would run at a third of its untraced rate. The spans that matter (requests
between modules, statements, cache operations, HTTP) stay; the asks between them are seen
as the time inside their parent.

The span is started, not made current: the asker only waits while it is open, so its context
goes straight into the envelope (no attach and detach on the asker's side)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from . import _names as n
from ._switch import STATE

__all__ = ["ASK_TRACER"]

_NOTHING: AbstractContextManager[None] = nullcontext()
_get_current = otel_context.get_current
_get_current_span = trace.get_current_span
_set_span_in_context = trace.set_span_in_context
_attach = otel_context.attach
_detach = otel_context.detach


class _AskSpan:
    """One ask's span: open from the send to the outcome, failed if the ask raises."""

    __slots__ = ("context", "span")

    def __init__(self, span: Span, parent: Context) -> None:
        self.span = span
        self.context = _set_span_in_context(span, parent)

    def __enter__(self) -> object:
        return self.context

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span = self.span
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()


@lru_cache(maxsize=1024)
def _shape(actor: str, kind: str, module_id: str | None) -> tuple[str, Mapping[str, Any]]:
    """An ask span's name and attributes, built once per actor and message type (the SDK
    copies the attributes into each span: this dict is never changed)."""
    attributes: dict[str, Any] = {n.ACTOR: actor, n.MESSAGE: kind}
    if module_id is not None:
        attributes[n.MODULE_ID] = module_id
    return f"ask {actor} {kind}", attributes


class _AskTracer:
    def ask_span(self, actor: str, message: object) -> AbstractContextManager[object | None]:
        tracer = STATE.tracer
        if tracer is None or getattr(message, "carries_trace", False):
            return _NOTHING  # off, or a message that carries its trace itself (the router's)
        context = _get_current()
        parent = _get_current_span(context).get_span_context()
        if not parent.is_valid:
            return _NOTHING  # no trace to continue: asks outside a trace make no spans
        if not STATE.trace_asks or not parent.trace_flags.sampled:
            # asks are not spans (the default), or a trace not sampled (no spans in it):
            # the context is carried on, no span made
            return nullcontext(context)
        name, attributes = _shape(actor, type(message).__name__, STATE.module_id)
        return _AskSpan(tracer.start_span(name, context, attributes=attributes), context)

    def tell_context(self, actor: str, message: object) -> object | None:
        """A tell carries the context it was sent in, inside a trace; never a span (a tell
        has no outcome to end one at)."""
        if STATE.tracer is None:
            return None
        context = _get_current()
        if not _get_current_span(context).get_span_context().is_valid:
            return None  # outside a trace: queued as it is
        return context

    def attach(self, context: object) -> object:
        return _attach(context)  # type: ignore[arg-type]

    def detach(self, token: object) -> None:
        _detach(token)  # type: ignore[arg-type]


ASK_TRACER = _AskTracer()
