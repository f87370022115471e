"""Requests sent in the asker's own task, without a hop through the router's mailbox.

``state.send_request`` used to ask the router actor: a mailbox put, a wake-up of the router's
task and one more pass of the scheduler before the request's frame was even queued. The
running router incarnation instead lends its sending here (:attr:`DirectRequests.hook`, set
in ``on_start`` and taken back in ``on_stop``), and the asker calls :meth:`DirectRequests.start`:
in the common case (a request to another module, small enough for one frame, a connection
with room, fewer than ``max_in_flight`` outstanding) the router writes the frame, records the
request and hands back the asker's reply handle, all in one synchronous call; the router's
state is only ever touched from the one trio thread, so nothing interleaves with its own
messages. Anything else (no router running, back-pressure, a stream, a request to itself, a
tracer following asks) answers None and the asker asks the router as before.

What the router was told survives a restart as before (the endpoint table, the stream table
and these hooks are the name's); a request sent this way is in the incarnation's table of
pending replies, so a crash fails its asker at once (``ActorCrashed``) and cancels it at the
callee, as for an asked one. A hook that raises is taken away and the router is told the
error, and crashes with it (its asks fail, and it restarts).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from actors import DeferredReply

from ._messages import SendRequest

__all__ = ["DirectRequests"]


@attrs.define
class DirectRequests:
    """The router's request sending, lent to the askers (see the module docstring)."""

    hook: Callable[[SendRequest], DeferredReply | None] | None = None
    """The running router incarnation's sender; None while none runs."""

    def start(self, request: SendRequest) -> DeferredReply | None:
        """Send ``request`` now and return the handle to wait on for its outcome
        (``DeferredReply.wait``), or None when it must be asked of the router instead.
        Does not block; raises only what the router's own bug raises."""
        hook = self.hook
        if hook is None:
            return None
        return hook(request)
