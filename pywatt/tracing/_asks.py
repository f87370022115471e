"""The ask tracer installed in the actor runtime while tracing is on (actors/_tracing.py):
an ask made inside a trace is a child span, and its context rides in the envelope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from . import _names as n
from ._switch import STATE

__all__ = ["ASK_TRACER"]

_NOTHING: AbstractContextManager[None] = nullcontext()


class _AskTracer:
    def ask_span(self, actor: str, message: object) -> AbstractContextManager[object | None]:
        tracer = STATE.tracer
        if tracer is None or not trace.get_current_span().get_span_context().is_valid:
            return _NOTHING  # no trace to continue: asks outside a trace make no spans
        if not getattr(message, "trace_ask", True):  # a message whose sender spans it
            return nullcontext(otel_context.get_current())
        return self._span(tracer, actor, message)

    @contextmanager
    def _span(self, tracer: trace.Tracer, actor: str, message: object) -> Iterator[object]:
        kind = type(message).__name__
        attributes: dict[str, Any] = {n.ACTOR: actor, n.MESSAGE: kind}
        if STATE.module_id is not None:
            attributes[n.MODULE_ID] = STATE.module_id
        with tracer.start_as_current_span(f"ask {actor} {kind}", attributes=attributes):
            yield otel_context.get_current()

    def attach(self, context: object) -> object:
        assert isinstance(context, otel_context.Context)
        return otel_context.attach(context)

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]


ASK_TRACER = _AskTracer()
