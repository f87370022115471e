"""Messages of the orchestrator-link actor."""

from __future__ import annotations

from typing import Any

import attrs

import actors
from pywatt.wire import (
    IpcHttpRequest,
    IpcPortNegotiationResponse,
    ModuleToOrchestrator,
    ServiceType,
)


@attrs.frozen
class Send:
    """Write one protocol message to stdout as a whole line."""

    message: ModuleToOrchestrator


@attrs.frozen
class SendRaw(actors.Request[None]):
    """Write an already-encoded JSON object (no newline) as one line, e.g. the §9.2 wrapper."""

    payload: bytes


@attrs.frozen
class FetchRemoteSecret(actors.Request[str]):
    """Ask the orchestrator for a secret (``get_secret``); answered with its value.

    Concurrent requests for one name share one ``get_secret`` line. Raises
    :class:`~pywatt.secrets.SecretNotFound` on ``secret_error``,
    :class:`~pywatt.secrets.SecretTimeout` after the 5 s protocol deadline, and
    :class:`~pywatt.secrets.SecretUnavailable` once stdin has ended.
    """

    name: str


@attrs.frozen
class RequestPort(actors.Request[IpcPortNegotiationResponse]):
    """Negotiate an HTTP port (``port_request``); 10 s deadline (:class:`StdioTimeout`)."""

    specific_port: int | None = None


@attrs.frozen
class OpenService(actors.Request[str]):
    """Open a proxied service connection (``service_request``, docs/protocol.md §13.1); answered
    with its ``connection_id``.

    ``config`` is the service's config as a JSON value (e.g. a ``DatabaseConfig`` encoded
    to a dict). Raises :class:`ServiceFailed` when the orchestrator refuses,
    :class:`StdioTimeout` after the 30 s deadline (docs/architecture.md, decision 2) and
    :class:`LinkClosed` once stdin has ended.
    """

    service_type: ServiceType
    config: Any = attrs.field(default=None, repr=False)


@attrs.frozen
class CallService(actors.Request[Any]):
    """One operation on a proxied connection (``service_operation``, §13.2); answered with
    the result's JSON value.

    At most one operation per connection is in flight (the protocol correlates results by
    ``connection_id``); a second one raises :class:`LinkError` at once. Raises
    :class:`ServiceFailed` with the orchestrator's error text, :class:`StdioTimeout` after
    30 s and :class:`LinkClosed` once stdin has ended.
    """

    connection_id: str
    service_type: ServiceType
    operation: str
    params: Any = attrs.field(default=None, repr=False)


@attrs.frozen
class HttpOverStdio:
    """Told to the actor registered as ``pywatt.http`` for each ``http_request`` on stdin.

    It must answer every one with ``SendRaw`` of the stdout wrapper of docs/protocol.md §9.2
    (``content`` + ``metadata``, every level key-sorted) carrying the same ``request_id``.
    """

    request: IpcHttpRequest


@attrs.frozen
class LinkShutdown:
    """Told by the link to the subscriber of ``Shutdown`` in its dispatch table
    (``StdioLink(notify=...)`` or ``subscriptions=``): the orchestrator sent ``shutdown`` on
    stdin, or closed it (``reason`` says which)."""

    reason: str
