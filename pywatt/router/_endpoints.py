"""The endpoints a module serves: what ``RegisterHandler`` told the router, kept with its name.

Handlers are registered once, by module code (``state.serve``) that will not register them
again. So the table belongs to the name ``pywatt.router``, like its mailbox, and not to one
incarnation: :func:`~pywatt.router.router_spec` makes one table and its factory hands it to
every incarnation, and a router restarted after a crash serves the same endpoints at once.

So do the requests held until the module's setup is done (``ready``): a request that came
for an endpoint nobody serves yet, before the module said its endpoints are all registered.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from pywatt.wire import RoutedModuleMessage

from ._errors import BadTarget
from ._messages import EndpointHandler, RegisterHandler

__all__ = ["Endpoints", "Handler"]


@attrs.frozen
class Handler:
    """One registered handler and the type its requests are decoded as."""

    handler: EndpointHandler
    request_type: Any
    stream: bool = False
    max_size: int | None = None


class Endpoints:
    """Handlers by endpoint, and by calling module for requests without a destination (a Rust
    module's, docs/protocol.md §12). Plain data: only the router reads and changes it."""

    def __init__(self, *, ready: bool = True, max_held: int = 1024) -> None:
        self._by_endpoint: dict[str, Handler] = {}
        self._by_module: dict[str, Handler] = {}
        self.ready = ready
        """Every endpoint served from the start is registered (until then, requests for an
        endpoint not served are held, not refused)."""
        self.max_held = max_held
        self._held: list[tuple[str, RoutedModuleMessage]] = []

    def hold(self, channel: str, message: RoutedModuleMessage) -> bool:
        """Keep a request (and the channel it came on) until its endpoint is registered or
        the table is ready; False when ``max_held`` are held already."""
        if len(self._held) >= self.max_held:
            return False
        self._held.append((channel, message))
        return True

    def take_held(self) -> list[tuple[str, RoutedModuleMessage]]:
        """Every held request, in arrival order; none is held any more."""
        held, self._held = self._held, []
        return held

    def drop_held(self, channel: str, source: str, request_id: uuid.UUID) -> bool:
        """Forget the held request ``request_id`` of ``source`` that came on ``channel`` (its
        caller gave up); False if none is held."""
        for index, (came_on, message) in enumerate(self._held):
            if (
                came_on == channel
                and message.original_request_id == request_id
                and message.source_module_id == source
            ):
                del self._held[index]
                return True
        return False

    def drop_channel(self, channel: str) -> int:
        """Forget every held request that came on ``channel`` (a direct line whose caller
        went); returns how many."""
        kept = [(came_on, message) for came_on, message in self._held if came_on != channel]
        dropped = len(self._held) - len(kept)
        self._held = kept
        return dropped

    @property
    def held(self) -> int:
        return len(self._held)

    def register(self, message: RegisterHandler) -> None:
        """Serve ``message.endpoint`` (replacing a handler it had). Raises :class:`BadTarget`
        for an endpoint or module id that is not a non-empty string."""
        endpoint, module = message.endpoint, message.for_module
        if not isinstance(endpoint, str) or not endpoint:
            raise BadTarget(f"an endpoint is a non-empty string, not {endpoint!r}")
        if module is not None and (not isinstance(module, str) or not module):
            raise BadTarget(f"for_module is a module id (a non-empty string), not {module!r}")
        if message.stream and isinstance(message.handler, str):
            raise BadTarget("a streamed endpoint is served by a function, not an actor name")
        if message.max_size is not None and message.max_size < 0:
            raise BadTarget(f"max_size is a number of bytes, not {message.max_size!r}")
        entry = Handler(message.handler, message.request_type, message.stream, message.max_size)
        self.unregister(endpoint)
        self._by_endpoint[endpoint] = entry
        if module is not None:
            self._by_module[module] = entry

    def unregister(self, endpoint: str) -> None:
        """Stop serving ``endpoint`` (and the modules routed to its handler)."""
        removed = self._by_endpoint.pop(endpoint, None) if isinstance(endpoint, str) else None
        if removed is not None:
            for module, entry in list(self._by_module.items()):
                if entry is removed:
                    del self._by_module[module]

    def find(self, endpoint: str | None, source: str) -> Handler | None:
        """The handler of ``endpoint``; without one, the handler for requests from ``source``."""
        if endpoint is not None:
            return self._by_endpoint.get(endpoint)
        return self._by_module.get(source)

    def names(self) -> tuple[str, ...]:
        """The endpoints served, sorted."""
        return tuple(sorted(self._by_endpoint))
