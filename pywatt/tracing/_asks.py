"""The ask tracer installed in the actor runtime while tracing is on (actors/_tracing.py):
an ask made inside a trace carries the trace context in its envelope, so what its handler
does is part of the trace; with ``PYWATT_TRACE_ASKS=1`` it is also a child span of its own.

Not by default: an SDK span costs about twice a whole pywatt ask, and a handler that asks a
few actors would run at a third of its untraced rate. The spans that matter (requests
between modules, statements, cache operations, HTTP) stay; the asks between them are seen
as the time inside their parent.

The span is started, not made current: the asker only waits while it is open, so its context
goes straight into the envelope (no attach and detach on the asker's side)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from . import _names as n
from ._switch import STATE

__all__ = ["ASK_TRACER"]

_NOTHING: AbstractContextManager[None] = nullcontext()
_get_current_span = trace.get_current_span
_set_span_in_context = trace.set_span_in_context


class _AskSpan:
    """One ask's span: open from the send to the outcome, failed if the ask raises."""

    __slots__ = ("context", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.context = _set_span_in_context(span)

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


class _AskTracer:
    def ask_span(self, actor: str, message: object) -> AbstractContextManager[object | None]:
        tracer = STATE.tracer
        if tracer is None:
            return _NOTHING
        parent = _get_current_span()
        if not parent.get_span_context().is_valid:
            return _NOTHING  # no trace to continue: asks outside a trace make no spans
        if (
            not STATE.trace_asks
            or not parent.is_recording()
            or not getattr(message, "trace_ask", True)
        ):
            # asks are not spans (the default), a trace not sampled (no spans in it), or a
            # message whose sender spans it: the context is carried on, no span made
            return nullcontext(otel_context.get_current())
        kind = type(message).__name__
        attributes: dict[str, Any] = {n.ACTOR: actor, n.MESSAGE: kind}
        if STATE.module_id is not None:
            attributes[n.MODULE_ID] = STATE.module_id
        return _AskSpan(tracer.start_span(f"ask {actor} {kind}", attributes=attributes))

    def attach(self, context: object) -> object:
        return otel_context.attach(context)  # type: ignore[arg-type]

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]


ASK_TRACER = _AskTracer()
