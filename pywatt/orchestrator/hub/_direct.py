"""Routes forwarded by the listener that read them, without a hand-off to the hub per frame.

A request or reply between modules is the orchestrator's hot path: read by a listener, told
to the hub, routed by it, queued on the target's connection. The hand-off costs a mailbox
put, a wake-up of the hub's task and one more pass of the scheduler per frame. The running
hub incarnation instead lends its routing function here (:attr:`DirectRoutes.route`, set in
``on_start`` and taken back in ``on_stop``), and the listener calls it for a route frame in
its own task. The hub's state is only ever touched from the one trio thread, and a route is
handled in one synchronous call, so nothing interleaves with the hub's own messages.

Order is kept: a listener counts what it told the hub (:meth:`told_hub`) and the hub counts
what it took (:meth:`hub_took`); while anything a listener told is still in the hub's
mailbox (a connection's ``Opened``, a frame the hub must see first), routes go that way too.
While no incarnation runs (a restart), :attr:`route` is None and every frame goes through the
mailbox, as before. A route that raises takes the direct path away (:meth:`failed`) and the
listener hands the error to the hub, which crashes with it and restarts as after any crash:
what others told it is in ``HubState`` and survives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._connection import ServerConnection

__all__ = ["DirectRoutes"]


@attrs.define
class DirectRoutes:
    """The hub's routing, lent to the listeners (see the module docstring)."""

    route: Callable[[ServerConnection, Any], None] | None = None
    """The running hub incarnation's frame handler; None while none runs."""
    in_mailbox: int = 0
    """Listener messages told to the hub and not yet taken by it."""

    def forward(self, conn: ServerConnection, content: Any) -> bool:
        """Route ``content`` (read on ``conn``) now, if that keeps the order; False when it
        must be told to the hub instead. Raises what the route raises (see :meth:`failed`).
        Does not block."""
        route = self.route
        if route is None or self.in_mailbox:
            return False
        route(conn, content)
        return True

    def told_hub(self) -> None:
        """A listener told the hub something (a frame, ``Opened``, ``Closed``)."""
        self.in_mailbox += 1

    def hub_took(self) -> None:
        """The hub took one of the listeners' messages from its mailbox."""
        self.in_mailbox = max(self.in_mailbox - 1, 0)

    def failed(self) -> None:
        """A direct route raised: until the hub has restarted, frames go to its mailbox."""
        self.route = None
