"""Streams to the orchestrator itself: the replies to its own requests (``orch.request``).

A module answers the orchestrator's request as it answers a module's: a value over 1 MiB of
JSON goes as ``{"Body":"<stream id>"}`` and a stream carrying it, a stream reply as
``{"Stream":"<stream id>"}`` (docs/protocol-extensions.md §9.4). The stream's open names the
orchestrator as its target (``peer`` = ``pywatt.orchestrator``), so the relay does not
forward it: the hub hands its frames here, where the orchestrator is the consumer.

The consumer's end is the module router's own :class:`~pywatt.router.RemoteInbound` (the same
state machine, credit and checks), in a :class:`~pywatt.router.StreamTable` whose frames go
straight to the producing module's connection instead of through a module's channels. It is
plain data in the hub's state, so a restart of the hub loses no stream.
"""

from __future__ import annotations

import uuid
from typing import Final

from pywatt.router import RemoteInbound, StreamTable
from pywatt.wire import StreamFrame, StreamOpen, decode_stream_frame

from ._connection import ServerConnection
from ._stream_relay import RelayedStreamFrame

__all__ = ["OWN_PEER", "OwnStreams"]

OWN_PEER: Final = "pywatt.orchestrator"
"""The ``peer`` of a stream open addressed to the orchestrator itself."""


class OwnStreams(StreamTable):
    """The streams modules send to the orchestrator (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.conns: dict[str, ServerConnection] = {}
        """The connection each stream's frames came on, by its label (the table's channel)."""

    def put(self, channel: str | None, frame: bytes) -> None:
        conn = self.conns.get(channel) if channel is not None else None
        if conn is not None:
            conn.send_nowait(frame)

    def supported(self) -> bool:
        return False  # the orchestrator opens no stream of its own

    def take(self, conn: ServerConnection, relayed: RelayedStreamFrame) -> bool:
        """Handle ``relayed`` if its stream is addressed to the orchestrator; False if it is
        for the relay (a stream between two modules). Does not block."""
        sid = relayed.stream_id
        if relayed.kind != "open" and sid not in self.inbound:
            return False
        try:
            frame: StreamFrame = decode_stream_frame(relayed.payload)
        except Exception:
            return relayed.kind != "open"  # a bad frame of ours is dropped; the relay
            # answers a bad open itself
        if isinstance(frame, StreamOpen) and frame.peer != OWN_PEER:
            return False
        self.conns[conn.label] = conn
        self.on_frame(conn.label, frame)
        return True

    def claim_reply(self, stream_id: uuid.UUID) -> RemoteInbound:
        """The stream a reply names, for the orchestrator's caller. Raises ``LookupError``."""
        return self.claim(stream_id)

    def closed(self, conn: ServerConnection) -> None:
        """``conn`` closed: its streams to us are aborted (``stopped``)."""
        if self.conns.pop(conn.label, None) is not None:
            self.connection_lost(conn.label, conn.close_reason or "closed")
