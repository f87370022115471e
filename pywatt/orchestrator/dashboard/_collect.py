"""Spans into the dashboard's traces: the orchestrator's own (the gateway's hop), moved from
their buffer by an actor, and the modules' ``spans`` lines."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Final

import trio

import actors
from pywatt.tracing import SpanBuffer, span_to_json
from pywatt.wire import ModuleSpans

from ..console import Console
from ._traces import ORCHESTRATOR, TraceRing

__all__ = ["COLLECTOR", "FLUSH_EVERY", "TraceCollector", "span_intake"]

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


def span_intake(traces: TraceRing, console: Console) -> Callable[[str, ModuleSpans], None]:
    """What takes each module's ``spans`` lines: the spans go into ``traces``; a line with
    malformed spans is a console warning naming the first bad field, for a module's 1st,
    10th, 100th ... such line (a module that keeps sending them does not flood the console)."""
    refused: collections.Counter[str] = collections.Counter()

    def take(module_id: str, line: ModuleSpans) -> None:
        errors = traces.add(module_id, line.spans, line.dropped)
        if not errors:
            return
        refused[module_id] += 1
        count = refused[module_id]
        if str(count).rstrip("0") == "1":  # 1, 10, 100, ...
            again = f" (line {count} with malformed spans)" if count > 1 else ""
            console.warning(
                f"{module_id} sent {len(errors)} malformed span(s), not kept: {errors[0]}" + again,
                module_id,
            )

    return take
