"""Messages between the connection actors and the rest of the module."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ChannelInbound", "ConnectionLost", "LineReady", "SendFrame"]


@attrs.frozen
class SendFrame:
    """Write one complete frame (the bytes of ``encode_frame``) on this connection."""

    data: bytes


@attrs.frozen
class ChannelInbound:
    """Told to the router, discovery or registrar actor: ``message`` arrived on ``channel``."""

    channel: str
    message: Any


@attrs.frozen
class LineReady:
    """Told to the subscriber of ``LineReady`` (the router) when a direct line this module
    opened to ``peer`` is up: it fences the line (``nonce`` names it) and then publishes it
    (``Writer.publish_line(peer, channel)``)."""

    peer: str
    nonce: str
    channel: str


@attrs.frozen
class ConnectionLost:
    """Told to the router when connection ``channel`` ends: requests it carried will get
    no reply through it. ``peer``: the module at the other end of a direct line (None for a
    channel to the orchestrator)."""

    channel: str
    reason: str
    peer: str | None = None
