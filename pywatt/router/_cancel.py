"""Cancelling a request across modules: the caller gives up, the callee's handler stops
(docs/calling-modules.md, docs/protocol-extensions.md §11).

Functions of the :class:`~pywatt.router.Router`, in both of its roles.

* **Caller.** Each request in flight watches its asker (``DeferredReply.on_cancel``). When
  the asker gives up before the reply and before the deadline (its cancel scope was
  cancelled, its task died), the router is told :class:`CallerGaveUp`: it forgets the
  request (freeing its slot) and, toward a pywatt orchestrator only, writes a
  ``cancel_request`` on the connection that carried the request. A request to the module
  itself is cancelled in-process. A stopping router does the same for every request it
  still has in flight. A deadline needs no message: the callee holds it already.
* **Callee.** A ``request_cancelled`` from the orchestrator names the caller and the request
  id. If a handler task of this router serves exactly that request, which came on that very
  connection, its cancel scope is cancelled (an actor handler's ask is cancelled, so the
  actor's handler is cancelled in turn), no reply is sent, and the request is recorded as a
  dead letter (``CANCELLED``) and logged as "cancelled by caller". A cancel for a request
  that is unknown, finished or another connection's does nothing but count
  (``cancels_ignored``). A request held until the module's setup serves its endpoint is
  dropped from the held ones. A streamed endpoint's handler is not cancelled this way: it
  ends with its stream, which the producer aborts when it gives up and the orchestrator
  aborts when the producer goes (with a reason the handler can read).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Final

import attrs
import trio

from actors import DeadLetterReason
from pywatt.channels import encode_module_frame
from pywatt.wire import CancelRequest, EncodeError

if TYPE_CHECKING:
    from ._router import Router

__all__ = [
    "CANCELLED_BY_CALLER",
    "CallerGaveUp",
    "CancelledByCaller",
    "caller_gave_up",
    "cancel_remote",
    "end_scope",
    "handler_scope",
    "on_cancelled",
    "watch_asker",
]

log = logging.getLogger("pywatt.router")

CANCELLED_BY_CALLER: Final = "cancelled by caller"


class CancelledByCaller(Exception):
    """What a cancelled request's server span records: its caller gave up on it."""

    def __init__(self) -> None:
        super().__init__(CANCELLED_BY_CALLER)


@attrs.frozen
class CallerGaveUp:
    """The router's own message: the asker of request ``request_id`` stopped waiting."""

    request_id: uuid.UUID


def watch_asker(router: Router, request_id: uuid.UUID, reply: object) -> None:
    """Tell the router :class:`CallerGaveUp` if the asker of ``request_id`` gives up."""
    on_cancel = getattr(reply, "on_cancel", None)
    if on_cancel is None:
        return
    tell = router.ctx.self_ref.tell_nowait

    def gave_up() -> None:  # runs in the asker's task: never raise there
        with contextlib.suppress(Exception):
            tell(CallerGaveUp(request_id))

    on_cancel(gave_up)


def caller_gave_up(router: Router, request_id: uuid.UUID) -> None:
    """The asker of ``request_id`` gave up: forget the request and tell its callee."""
    request = router.requests.pop(request_id, None)
    if request is None:  # answered, failed or timed out meanwhile
        return
    router.replies.take(request_id)
    router._end_body(request_id)
    router.counts["cancelled"] += 1
    router._finished()
    cancel_remote(router, request.target, request_id, request.channel)


def cancel_remote(router: Router, target: str, request_id: uuid.UUID, channel: str) -> None:
    """Cancel request ``request_id`` at its callee: in-process for a request to this module,
    else a ``cancel_request`` on ``channel`` (only toward a pywatt orchestrator). Does not
    block; a connection that is gone drops it (the orchestrator cancels for it then)."""
    from ._router import LOCAL_CHANNEL

    if channel == LOCAL_CHANNEL:
        on_cancelled(router, LOCAL_CHANNEL, router.module_id, request_id)
        return
    writer = router.writer
    if not router.cancels or writer is None:
        return
    try:
        frame = encode_module_frame(CancelRequest(target_module_id=target, request_id=request_id))
    except EncodeError as exc:  # a target id over the frame limit: nothing to tell
        log.info("could not write the cancel of request %s: %s", request_id, exc)
        return
    if writer.put_on(channel, frame):
        router.counts["cancels_sent"] += 1


def on_cancelled(router: Router, channel: str, source: str, request_id: uuid.UUID) -> None:
    """The caller ``source`` gave up on ``request_id``, which came on ``channel``: cancel its
    handler if it still runs here (see the module docstring)."""
    key = (source, request_id)
    scope = router.scopes.get(key)
    if scope is None or router.serving.get(key) != channel:
        if router.endpoints.drop_held(channel, source, request_id):  # not started yet
            router.counts["cancelled_by_caller"] += 1
            log.info("request %s from %s was %s before its endpoint was served",
                     request_id, source, CANCELLED_BY_CALLER)  # fmt: skip
            return
        router.counts["cancels_ignored"] += 1
        return
    del router.serving[key]  # nothing is written when the task ends: see by_caller
    scope.cancel()
    router.counts["cancelled_by_caller"] += 1
    router.ctx.system.dead_letters.record(
        router.ctx.cell.name, f"request {request_id} from {source}", DeadLetterReason.CANCELLED
    )
    log.info("request %s from %s was %s; its handler was cancelled",
             request_id, source, CANCELLED_BY_CALLER)  # fmt: skip


def handler_scope(
    router: Router,
    source: str,
    request_id: uuid.UUID,
    deadline: float,
    *,
    cancellable: bool = True,
) -> trio.CancelScope:
    """The cancel scope a handler task runs in for one request: it ends at the caller's
    ``deadline``, or when the caller cancels (:func:`on_cancelled`) if the request is one
    the router tracks (a notification is never cancelled). The task removes it when it ends
    (:func:`end_scope`)."""
    scope = trio.CancelScope(deadline=deadline)
    if cancellable and (source, request_id) in router.serving:
        router.scopes[(source, request_id)] = scope
    return scope


def end_scope(router: Router, source: str, request_id: uuid.UUID) -> bool:
    """The handler task of ``request_id`` ends: forget its scope. True if its caller
    cancelled it (:func:`on_cancelled` logged it; nothing may be sent)."""
    key = (source, request_id)
    return router.scopes.pop(key, None) is not None and key not in router.serving
