"""The hub's side of cancels (docs/protocol-extensions.md §11): a caller gave up on a request.

Functions of the :class:`~pywatt.orchestrator.hub.Hub`, on its :class:`HubState`.

* A ``cancel_request`` from a module names a target and a request id. The route it cancels
  must be that module's, on that very connection: routes are keyed by (callee, request
  id) and the id is the caller's to choose, so the hub checks that the route's caller
  connection *is* the connection the cancel came on. Anything else (an unknown or finished
  request, another module's, another connection's) is counted (``cancels_ignored``) and
  dropped. The route is forgotten (a reply after it is a late reply) and, when the callee's
  connection declared pywatt, the callee is sent ``request_cancelled``; a readiness probe
  the hub holds itself is simply dropped.
* When a caller's connection closes, its requests still routed are cancelled the same way
  (the caller failed them with ``RequestInterrupted`` already), and so are its held probes.
* The orchestrator's own ask (``CallModule``) whose asker gives up cancels its route too.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import attrs

from pywatt.wire import CancelRequest, RequestCancelled

from ._connection import ServerConnection, encode_bare

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["CallAbandoned", "cancel_from", "cancel_routes_of", "on_call_abandoned"]


@attrs.frozen
class CallAbandoned:
    """The hub's own message: the asker of the orchestrator's request gave up."""

    callee: str
    request_id: uuid.UUID


def cancel_from(hub: Hub, conn: ServerConnection, message: CancelRequest) -> None:
    """A module's ``cancel_request`` (see the module docstring)."""
    key = (message.target_module_id, message.request_id)
    route = hub.routes.get(key)
    if route is not None and route.reply is None and route.caller_conn is conn:
        del hub.routes[key]
        _tell_callee(hub, route.callee_conn, conn.module_id, message.request_id)
        return
    waiters = hub.state.ready_waiters.get(message.target_module_id, [])
    for waiter in waiters:
        if waiter.request_id == message.request_id and waiter.caller_conn is conn:
            waiters.remove(waiter)
            hub.counts["cancelled"] += 1
            return
    hub.counts["cancels_ignored"] += 1


def cancel_routes_of(hub: Hub, conn: ServerConnection) -> None:
    """``conn`` closed: cancel the requests it made that are still routed."""
    for key, route in list(hub.routes.items()):
        if route.caller_conn is conn and route.callee_conn is not conn:
            del hub.routes[key]
            _tell_callee(hub, route.callee_conn, conn.module_id, key[1])
    for waiters in hub.state.ready_waiters.values():
        waiters[:] = [w for w in waiters if w.caller_conn is not conn]


def on_call_abandoned(hub: Hub, message: CallAbandoned) -> None:
    """The orchestrator's own request lost its asker: cancel it at the callee."""
    from ._hub import ORCHESTRATOR_CALLER

    key = (message.callee, message.request_id)
    route = hub.routes.get(key)
    if route is None or route.reply is None:
        return
    del hub.routes[key]
    hub.state.response_types.pop(message.request_id, None)
    hub.state.own.end_body(message.request_id)
    _tell_callee(hub, route.callee_conn, ORCHESTRATOR_CALLER, message.request_id)


def _tell_callee(
    hub: Hub, callee_conn: ServerConnection, caller: str, request_id: uuid.UUID
) -> None:
    hub.counts["cancelled"] += 1
    if callee_conn.pywatt and not callee_conn.closed:
        frame = encode_bare(RequestCancelled(source_module_id=caller, request_id=request_id))
        callee_conn.send_nowait(frame)
