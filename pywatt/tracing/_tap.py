"""Finished spans for pywatt's own dashboard, beside whatever exporters are configured.

:data:`TAP` is a span processor added once to the tracer provider in use (the SDK's); it
hands each finished span to the sinks attached now and, with none, returns at once. A
:class:`SpanBuffer` is such a sink: bounded, dropping the oldest span when full, never
blocking the thread that ended the span; a task of the process's own drains it and turns
each span into JSON (:func:`~pywatt.tracing.span_to_json`). Without an SDK
nothing is attached and no span exists: nothing of this runs.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ._switch import STATE

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, Span

__all__ = ["SPAN_BUFFER", "TAP", "SpanBuffer", "SpanTap", "tap_spans"]

SPAN_BUFFER: Final = 2048
"""Finished spans a :class:`SpanBuffer` holds until drained; beyond, the oldest go."""
Sink = Callable[["ReadableSpan"], None]


class SpanTap:
    """A span processor (the SDK's interface, duck-typed: pywatt needs no SDK to import)
    that hands finished spans to the attached sinks. A sink must not block or raise."""

    def __init__(self) -> None:
        self.sinks: tuple[Sink, ...] = ()
        self._providers: weakref.WeakSet[Any] = weakref.WeakSet()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def _on_ending(self, span: Span) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        for sink in self.sinks:
            sink(span)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def install(self) -> bool:
        """Add this processor to the provider tracing uses now (once per provider); returns
        whether it is there (False: tracing is off, or the provider takes no processors)."""
        provider = STATE.provider
        if provider is None:
            return False
        if provider in self._providers:
            return True
        add = getattr(provider, "add_span_processor", None)
        if not callable(add):
            return False
        add(self)
        self._providers.add(provider)
        return True


TAP: Final = SpanTap()
"""The process's tap (a provider gets it at most once)."""


def tap_spans(sink: Sink) -> Callable[[], None] | None:
    """Hand every span that ends from now on to ``sink`` (``None``: tracing is off, or its
    provider takes no span processors: nothing is attached). Returns the detach function."""
    if not TAP.install():
        return None
    TAP.sinks = (*TAP.sinks, sink)

    def detach() -> None:
        TAP.sinks = tuple(s for s in TAP.sinks if s is not sink)

    return detach


class SpanBuffer:
    """Finished spans until drained: at most ``capacity``, the oldest dropped beyond that
    (counted). Safe to fill from any thread; :meth:`drain` from one."""

    def __init__(self, capacity: int = SPAN_BUFFER) -> None:
        self.capacity = capacity
        self._spans: collections.deque[ReadableSpan] = collections.deque(maxlen=capacity)
        self._dropped = 0
        self.detach: Callable[[], None] | None = None
        """Set by :meth:`attach` while the buffer is fed."""

    def __call__(self, span: ReadableSpan) -> None:
        if len(self._spans) == self.capacity:
            self._dropped += 1
        self._spans.append(span)

    def attach(self) -> bool:
        """Be fed every span that ends from now on (once); returns whether it is."""
        if self.detach is None:
            self.detach = tap_spans(self)
        return self.detach is not None

    def drain(self, limit: int) -> tuple[list[ReadableSpan], int]:
        """At most ``limit`` spans, oldest first, and the count dropped since the last drain."""
        spans: list[ReadableSpan] = []
        while len(spans) < limit:
            try:
                spans.append(self._spans.popleft())
            except IndexError:
                break
        dropped, self._dropped = self._dropped, 0
        return spans, dropped
