"""The orchestrator's own finished spans (the gateway's hop) into the dashboard's traces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import trio

import actors
from pywatt.tracing import SpanBuffer, span_to_json

from ._traces import ORCHESTRATOR, TraceRing

__all__ = ["COLLECTOR", "FLUSH_EVERY", "TraceCollector"]

COLLECTOR: Final = "pywatt.traces"
FLUSH_EVERY: Final = 0.25
"""Seconds between two looks at the buffer."""
_BATCH: Final = 256


class TraceCollector(actors.Actor[None]):
    """Moves what ``buffer`` (attached to the tracer provider) holds into ``ring`` every
    :data:`FLUSH_EVERY` seconds. Both live outside the actor: a restart loses nothing."""

    def __init__(self, buffer: SpanBuffer, ring: TraceRing, redact: Callable[[str], str]) -> None:
        self.buffer = buffer
        self.ring = ring
        self.redact = redact

    async def on_start(self) -> None:
        self.ctx.start_task(self._collect)

    async def receive(self, message: None) -> None:
        return None

    async def _collect(self) -> None:
        while True:
            await trio.sleep(FLUSH_EVERY)
            while True:
                spans, dropped = self.buffer.drain(_BATCH)
                if not spans and not dropped:
                    break
                encoded = [span_to_json(span, self.redact) for span in spans]
                self.ring.add(ORCHESTRATOR, encoded, dropped)
