"""Building the registration of a module from its configuration."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from pywatt.wire import Capabilities, Endpoint, EndpointAnnounce

__all__ = ["KNOWN_CAPABILITIES", "build_capabilities"]

KNOWN_CAPABILITIES: Final = ("http", "websocket", "streaming")
"""Capability kinds with a flag of their own; any other name is a ``custom`` capability."""


def build_capabilities(
    endpoints: Sequence[EndpointAnnounce],
    capabilities: Iterable[str],
    message_types: Iterable[str] = (),
) -> Capabilities:
    """The ``Capabilities`` of §10: the endpoints with their auth requirements, the message
    types (the router's endpoints) and ``additional_capabilities`` with the ``http``,
    ``websocket`` and ``streaming`` flags and the sorted ``custom`` names."""
    names = set(capabilities)
    extra: dict[str, Any] = {name: name in names for name in KNOWN_CAPABILITIES}
    extra["http"] = extra["http"] or bool(endpoints)
    extra["custom"] = sorted(names - set(KNOWN_CAPABILITIES))
    extra = dict(sorted(extra.items()))  # a deterministic order on the wire
    types = sorted(set(message_types))
    return Capabilities(
        endpoints=[Endpoint(path=e.path, methods=list(e.methods), auth=e.auth) for e in endpoints],
        message_types=types or None,
        additional_capabilities=extra,
    )
