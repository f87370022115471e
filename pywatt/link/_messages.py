"""Messages of the orchestrator-link actor."""

from __future__ import annotations

import attrs

import actors
from pywatt.wire import IpcHttpRequest, IpcPortNegotiationResponse, ModuleToOrchestrator


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
class ForwardedSecretFetch:
    """:class:`FetchRemoteSecret` for a reply handle another actor deferred: the link answers
    it directly, so the forwarding provider needs no task of its own per request."""

    name: str
    reply: actors.DeferredReply = attrs.field(eq=False)


@attrs.frozen
class RequestPort(actors.Request[IpcPortNegotiationResponse]):
    """Negotiate an HTTP port (``port_request``); 10 s deadline (:class:`StdioTimeout`)."""

    specific_port: int | None = None


@attrs.frozen
class Expire:
    """Internal: a stdio request's deadline passed."""

    kind: str
    key: str


@attrs.frozen
class HttpOverStdio:
    """Told to the actor registered as ``pywatt.http`` for each ``http_request`` on stdin.

    It must answer every one with ``SendRaw`` of the stdout wrapper of PROTOCOL.md §9.2
    (``content`` + ``metadata``, every level key-sorted) carrying the same ``request_id``.
    """

    request: IpcHttpRequest
