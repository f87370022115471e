"""HTTP over a channel (docs/protocol.md §9.3): the request a connection hands to the module's
HTTP actor. The channels define it and :mod:`pywatt.http` serves it, as the link defines
``HttpOverStdio`` for HTTP over stdio: the transport names what it delivers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

import actors
from pywatt.wire import IpcHttpRequest, IpcHttpResponse

HTTP_ACTOR: Final = "pywatt.http"
"""The name of the actor that serves the module's HTTP app."""

HTTP_SUBSCRIPTION: Final[Mapping[type[Any], str]] = {IpcHttpRequest: HTTP_ACTOR}
"""The channels' default dispatch entry for ``http_request`` (a connection asks that actor
:class:`ServeHttp` and writes its answer back on the channel it came from)."""


@attrs.frozen
class ServeHttp(actors.Request[IpcHttpResponse]):
    """Serve one ``http_request`` that arrived on a channel (docs/protocol.md §9.3); answered with
    the :class:`~pywatt.wire.IpcHttpResponse` to send back Message-wrapped on that channel."""

    request: IpcHttpRequest
