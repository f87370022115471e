"""The router's message protocol (``pywatt.router``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Final

import attrs

from actors import Protocol, Request
from pywatt.metrics import HistogramSnapshot

__all__ = [
    "ROUTER",
    "ROUTER_PROTOCOL",
    "EndpointHandler",
    "EndpointsReady",
    "GetRouterStatistics",
    "RegisterHandler",
    "RouterStatistics",
    "SendMessage",
    "SendRequest",
    "UnregisterHandler",
    "parse_target",
]

ROUTER: Final = "pywatt.router"

EndpointHandler = Callable[[Any], Awaitable[Any]] | Callable[[Any], Any] | str
"""A function of the request (sync or async) returning the response, or an actor name."""


def parse_target(target: str, endpoint: str | None = None) -> tuple[str, str]:
    """``("billing", "charge")`` from ``"billing:charge"``, ``"billing/charge"``, or
    ``("billing", "charge")`` given apart. Raises :class:`BadTarget`."""
    if endpoint is not None:
        module = target
    else:
        for sep in (":", "/"):
            module, found, endpoint = target.partition(sep)
            if found:
                break
        else:
            raise _bad_target(f"target {target!r} must be 'module:endpoint' or 'module/endpoint'")
    if not module or not endpoint:
        raise _bad_target(f"target {target!r} needs both a module id and an endpoint")
    return module, endpoint


def _bad_target(text: str) -> Exception:
    from ._errors import BadTarget  # imported on failure only: parse_target runs per request

    return BadTarget(text)


@attrs.frozen
class SendMessage(Request[None]):
    """A one-way notification to ``endpoint`` of module ``target`` (no reply; answered once
    it is queued on a channel). Raises :class:`~pywatt.channels.NoChannel` when no channel
    is up and ``EncodeError`` when ``payload`` has no JSON form."""

    target: str
    endpoint: str
    payload: Any
    trace: dict[str, str] | None = None
    """The W3C trace context of the caller's span (``pywatt.tracing.client_span``)."""

    carries_trace: ClassVar[bool] = True  # ``trace`` is its context: the ask carries none


@attrs.frozen
class SendRequest(Request[Any]):
    """A request to ``endpoint`` of ``target``; answered with the reply as ``response_type``.

    ``timeout`` None uses the router's default (30 s). Raises :class:`RemoteError`,
    :class:`RequestTimeout`, :class:`RequestInterrupted`, :class:`BadReply` or
    :class:`~pywatt.channels.NoChannel`.
    """

    target: str
    endpoint: str
    payload: Any
    response_type: Any = Any
    timeout: float | None = None
    trace: dict[str, str] | None = None
    """The W3C trace context of the caller's span (``pywatt.tracing.client_span``)."""
    request_id: uuid.UUID | None = None
    """The request's id (None: a fresh one); a stream's announcing request names its own."""
    direct_line: bool = True
    """It may go on a direct line to ``target`` when one is up (docs/calling-modules.md);
    False for a stream's announcing request, which goes the way of its stream."""

    carries_trace: ClassVar[bool] = True  # ``trace`` is its context: the ask carries none


@attrs.frozen
class RegisterHandler(Request[None]):
    """Serve ``endpoint``: requests arriving for it are decoded as ``request_type`` and given
    to ``handler`` (a function, or the name of a local actor that is asked/told them).

    ``for_module``: also serve requests without a destination (a Rust module's) coming from
    that module id (docs/protocol.md §12 keys handlers by the calling module).
    """

    endpoint: str
    handler: EndpointHandler
    request_type: Any = Any
    for_module: str | None = None
    stream: bool = False
    """The endpoint takes streams: ``handler`` (a function) is called with the
    ``RemoteInbound`` of each stream opened to it (``state.serve_stream``)."""
    max_size: int | None = None
    """Refuse requests over this many encoded bytes with ``RequestTooLarge`` (None: no limit
    but the frame limit, and none at all for requests that come as a stream)."""


@attrs.frozen
class UnregisterHandler(Request[None]):
    """Stop serving ``endpoint``."""

    endpoint: str


@attrs.frozen
class EndpointsReady(Request[None]):
    """The module's setup is done: every endpoint it serves from the start is registered.

    A router told to wait for this (``router_spec(..., hold_until_ready=True)``, as a module
    does) holds a request for an endpoint it does not serve yet instead of answering
    ``NoSuchEndpoint``: a restarted module's channel is up before its ``main`` has registered
    anything. Once ready, what is still held is answered as usual.
    """


@attrs.frozen
class RouterStatistics:
    """Counters of the router since it started."""

    in_flight: int
    parked: int
    sent: int
    notifications: int
    replies: int
    remote_errors: int
    timeouts: int
    interrupted: int
    late_replies: int
    handled: int
    handler_errors: int
    unroutable: int
    malformed: int
    too_large: int
    """Requests, notifications and replies refused for being over the frame limit."""
    endpoints: tuple[str, ...]
    """The endpoints this module serves."""
    held: int = 0
    """Requests waiting for the module's setup to register their endpoint."""
    latency: HistogramSnapshot = attrs.Factory(HistogramSnapshot)
    """Seconds from sending a request to its reply (an error reply included; not timeouts)."""
    expired: int = 0
    """Requests served here whose caller's deadline passed before the handler answered:
    the handler was cancelled (or never run) and no reply was sent."""
    gave_up: int = 0
    """Requests sent from here whose asker gave up before the reply (and its deadline): the
    callee was told to cancel them (docs/calling-modules.md)."""
    cancelled_by_caller: int = 0
    """Requests served here whose caller gave up: the handler was cancelled, no reply sent."""
    streams: int = 0
    """Stream ends this module holds now, either way (its stream table's)."""
    bodies: int = 0
    """Requests sent from here whose value goes in a stream, not answered or over yet."""


@attrs.frozen
class GetRouterStatistics(Request[RouterStatistics]):
    """Ask for :class:`RouterStatistics`."""


@attrs.frozen
class DirectReplyFailed:
    """Internal: a reply handled in a connection's reader raised ``error``; the router
    crashes with it (``_direct_replies``)."""

    error: Exception


@attrs.frozen
class Unpark:
    """Internal: a slot freed outside a handler; send parked requests."""


@attrs.frozen
class HandlerReply:
    """Internal: a served request's reply, to be written by the actor."""

    source: str
    request_id: uuid.UUID
    data: bytes
    channel: str


ROUTER_PROTOCOL: Final = Protocol(
    "router",
    (
        SendMessage,
        SendRequest,
        RegisterHandler,
        UnregisterHandler,
        EndpointsReady,
        GetRouterStatistics,
    ),
)
