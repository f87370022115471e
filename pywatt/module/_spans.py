"""Handing a module's finished spans to the orchestrator (``spans`` lines, an extension), for
the traces of its dashboard.

Only toward an orchestrator that asked for them (``PYWATT_SPANS=1`` in ``InitBlob.env``) and
only while this module's tracing SDK is on: the forwarder then attaches a bounded buffer to
the tracer provider (:func:`pywatt.tracing.tap_spans`) and, every :data:`FLUSH_EVERY`
seconds, writes what it holds to the link. A span ending never waits for the link: when the
buffer is full the oldest spans go, and the next line says how many. The buffer lives outside
the actor, so a restart of the forwarder loses no span.
"""

from __future__ import annotations

import logging
from typing import Final

import attrs
import trio

import actors
from pywatt.link import Send
from pywatt.logs import redactor
from pywatt.tracing import SpanBuffer, SpanEncoder
from pywatt.wire import ENV_SPANS, InitBlob, ModuleSpans

__all__ = ["BATCH", "FLUSH_EVERY", "SPANS", "SpanForwarder", "TapSpans", "span_specs"]

log = logging.getLogger(__name__)

SPANS: Final = "pywatt.spans"
FLUSH_EVERY: Final = 0.25
"""Seconds between two looks at the buffer (spans of a trace leave together)."""
BATCH: Final = 128
"""Spans per ``spans`` line at most."""


@attrs.frozen
class TapSpans:
    """Start handing spans over if tracing is on now (the module's setup may have just
    configured it). Idempotent."""


class SpanForwarder(actors.Actor[TapSpans]):
    """Registered as ``pywatt.spans``: writes the buffered spans to the link."""

    def __init__(self, buffer: SpanBuffer, link: str = "pywatt.link") -> None:
        self.buffer = buffer
        self.link = link
        self._draining = False
        self._encode = SpanEncoder(redactor)  # the spans of an endpoint redacted once

    async def on_start(self) -> None:
        if self.buffer.detach is not None:  # attached by an earlier incarnation
            self._drain_soon()

    async def receive(self, message: TapSpans) -> None:
        if self.buffer.attach():
            self._drain_soon()

    def _drain_soon(self) -> None:
        if not self._draining:
            self._draining = True
            self.ctx.start_task(self._forward)

    async def _forward(self) -> None:
        system = self.ctx.system
        while True:
            await trio.sleep(FLUSH_EVERY)
            while True:
                spans, dropped = self.buffer.drain(BATCH)
                if not spans and not dropped:
                    break
                encoded = [self._encode(span) for span in spans]
                await system.tell(self.link, Send(ModuleSpans(spans=encoded, dropped=dropped)))


def span_specs(init: InitBlob, grace: float) -> list[actors.ChildSpec]:
    """The forwarder's child spec when the orchestrator asked for spans; none otherwise."""
    if init.env.get(ENV_SPANS) != "1":
        return []
    buffer = SpanBuffer()  # outside the actor: it outlives every incarnation
    return [actors.ChildSpec(SPANS, lambda: SpanForwarder(buffer), shutdown=grace)]
