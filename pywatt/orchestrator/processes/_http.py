"""HTTP over a module's stdio (docs/protocol.md §9.1, §9.2), as the process actor sees it: the
gateway tells it to write a request; it tells the gateway each wrapper line the module wrote."""

from __future__ import annotations

import attrs

from pywatt.wire import IpcHttpRequest

__all__ = ["ForwardHttp", "HttpWrapperLine"]


@attrs.frozen
class ForwardHttp:
    """Told to a module's process actor: write this ``http_request`` on the module's stdin."""

    request: IpcHttpRequest


@attrs.frozen
class HttpWrapperLine:
    """Told to the gateway by a process actor: a §9.2 wrapper line the module wrote."""

    module_id: str
    line: bytes
