"""Forwarding a module's events to the orchestrator (``events`` lines, an extension).

Only toward an orchestrator that asked for them (``PYWATT_EVENTS=1`` in ``InitBlob.env``).
The forwarder reads ``system.events`` through a bounded subscription: if the orchestrator or
the link falls behind, the oldest events are dropped and the next line says how many, so the
module itself is never slowed down by its events.
"""

from __future__ import annotations

import logging
from typing import Final

import actors
from pywatt.link import Send
from pywatt.observe import UnknownEvent, event_to_json
from pywatt.wire import ENV_EVENTS, InitBlob, ModuleEvents

__all__ = ["FORWARDER", "EventForwarder", "forwarder_specs"]

log = logging.getLogger(__name__)

FORWARDER: Final = "pywatt.events"
BUFFER: Final = 512
"""Events kept for the link while it is busy; beyond that the oldest are dropped."""
BATCH: Final = 64
"""Events per ``events`` line at most."""


class EventForwarder(actors.Actor[None]):
    """Registered as ``pywatt.events``: writes the module's events to the link in batches."""

    def __init__(self, link: str = "pywatt.link") -> None:
        self.link = link

    async def on_start(self) -> None:
        self.ctx.start_task(self._forward)

    async def receive(self, message: None) -> None:
        return None

    async def _forward(self) -> None:
        system = self.ctx.system
        reported = 0
        async with system.events.subscribe(buffer=BUFFER) as events:
            async for first in events:
                batch = [first]
                while len(batch) < BATCH:
                    more = events.receive_nowait()
                    if more is None:
                        break
                    batch.append(more)
                encoded = []
                for event in batch:
                    try:
                        encoded.append(event_to_json(event))
                    except UnknownEvent:  # an application's own event: it stays in-process
                        continue
                dropped, reported = events.dropped - reported, events.dropped
                if encoded or dropped:
                    line = ModuleEvents(events=encoded, dropped=dropped)
                    await system.tell(self.link, Send(line))


def forwarder_specs(init: InitBlob, grace: float) -> list[actors.ChildSpec]:
    """The forwarder's child spec when the orchestrator asked for events; none otherwise."""
    if init.env.get(ENV_EVENTS) != "1":
        return []
    return [actors.ChildSpec(FORWARDER, EventForwarder, shutdown=grace)]
