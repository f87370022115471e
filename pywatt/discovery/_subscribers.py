"""Fan-out of discovery updates to subscribers (shared by every backend)."""

from __future__ import annotations

import logging

import trio

from pywatt.wire import DiscoveryUpdate, ServiceType

log = logging.getLogger("pywatt.discovery")


class Subscribers:
    """Memory channels that receive updates, each with an optional service-type filter."""

    def __init__(self) -> None:
        self._channels: dict[trio.MemorySendChannel[DiscoveryUpdate], ServiceType | None] = {}
        self.dropped = 0

    def add(
        self, send: trio.MemorySendChannel[DiscoveryUpdate], service_type: ServiceType | None
    ) -> None:
        self._channels[send] = service_type

    def remove(self, send: trio.MemorySendChannel[DiscoveryUpdate]) -> None:
        self._channels.pop(send, None)

    def publish(self, update: DiscoveryUpdate) -> None:
        """Hand ``update`` to every matching subscriber without blocking."""
        for send, wanted in list(self._channels.items()):
            if wanted is not None and wanted != update.provider.service_type:
                continue
            try:
                send.send_nowait(update)
            except trio.WouldBlock:
                self.dropped += 1
                log.warning("a discovery subscriber is full; dropped an update for it")
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                self.remove(send)
