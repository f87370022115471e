"""The orchestrator's own streams: the replies to its own requests (``orch.request``), and
the values of those requests when they are big.

A module answers the orchestrator's request as it answers a module's: a value over 1 MiB of
JSON goes as ``{"Body":"<stream id>"}`` and a stream carrying it, a stream reply as
``{"Stream":"<stream id>"}`` (docs/protocol-extensions.md §9.4). The stream's open names the
orchestrator as its target (``peer`` = ``pywatt.orchestrator``), so the relay does not
forward it: the hub hands its frames here, where the orchestrator is the consumer.

The consumer's end is the module router's own :class:`~pywatt.router.RemoteInbound` (the same
state machine, credit and checks), in a :class:`~pywatt.router.StreamTable` whose frames go
straight to the producing module's connection instead of through a module's channels. It is
plain data in the hub's state, so a restart of the hub loses no stream.

The orchestrator is a producer too: a request of its own whose value is over
:data:`~pywatt.router.STREAM_THRESHOLD` (1 MiB) of JSON goes, to a module that declared
MessagePack on the connection it goes on, as a module's big request goes: a small request
whose ``pywatt_body`` property names a stream, and that stream carrying the value as
MessagePack (bytes as ``bin``), sent on the same connection by the module router's own
:class:`~pywatt.router.RemoteOutbound` and ``pump``, paced by the module's credit
(:meth:`OwnStreams.send_body`). A bytes value is never copied whole: the chunks are cut from
it as they go, and the hub's loop gets a checkpoint between any two of them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import trio

from actors import ActorContext
from pywatt.router import BODY_KIND, REQUEST_KEY, RemoteInbound, RemoteOutbound, StreamTable, pump
from pywatt.wire import StreamFrame, StreamOpen, decode_stream_frame, encode_body_parts

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
        """The connection each stream's frames come and go on, by its label (the table's
        channel)."""
        self.bodies: dict[uuid.UUID, RemoteOutbound] = {}
        """The streams carrying the values of the orchestrator's own requests, by request
        id, until the request is answered or over (:meth:`end_body`)."""

    def put(self, channel: str | None, frame: bytes) -> None:
        conn = self.conns.get(channel) if channel is not None else None
        if conn is not None:
            conn.send_nowait(frame)

    def offer(self, channel: str | None, frame: bytes) -> bool:
        return False  # every chunk through write(): a checkpoint between any two

    async def write(self, channel: str | None, frame: bytes) -> None:
        """Queue a data frame on its connection after a checkpoint (the hub's loop is
        never held by a stream). The module's credit bounds what is queued: a window of
        chunks per stream. A closed connection drops it (:meth:`closed` aborts the stream)."""
        await trio.lowlevel.checkpoint()
        self.put(channel, frame)

    def supported(self) -> bool:
        return False  # no channel picking here: see supported_by

    @staticmethod
    def supported_by(conn: ServerConnection) -> bool:
        """Whether a stream of the orchestrator's may go on ``conn``: the module declared
        MessagePack on it (a pywatt module; a Rust one reads no stream frames)."""
        return conn.msgpack

    def send_body(
        self, ctx: ActorContext, conn: ServerConnection, endpoint: str, value: Any,
        request_id: uuid.UUID,
    ) -> RemoteOutbound:  # fmt: skip
        """Open a stream on ``conn`` carrying ``value`` (the value of request
        ``request_id`` to ``endpoint``) and start sending it in a task of ``ctx`` (the hub's
        incarnation: a crash of it fails the request, whose body is then aborted,
        ``cancelled``). Raises ``EncodeError`` for a value with no MessagePack form."""
        head, rest = encode_body_parts(value)
        self.conns[conn.label] = conn
        metadata = {BODY_KIND: "value", REQUEST_KEY: str(request_id)}
        out = self.open_outbound(OWN_PEER, endpoint, metadata, channel=conn.label)
        self.bodies[request_id] = out
        chunks = _chunks(head, rest, out.sender.chunk_size)
        ctx.start_task(functools.partial(pump, out, chunks, release=False))
        return out

    def end_body(self, request_id: uuid.UUID) -> None:
        """Request ``request_id`` is answered or over: a body still being sent is not
        needed any more (a reply before its end is a refusal, such as ``RequestTooLarge``),
        and the stream is forgotten."""
        out = self.bodies.pop(request_id, None)
        if out is not None:
            if out.sending:
                out.abort("the request was answered or ended before its body was sent")
            out.release()

    def open_ends(self) -> int:
        """How many stream ends the table holds (reading or sending, not yet forgotten)."""
        sending = set(self.outbound) | {out.stream_id for out in self.bodies.values()}
        return len(self.inbound) + len(sending)

    def end_bodies_but(self, live: set[uuid.UUID]) -> None:
        """End the bodies of every request not in ``live`` (a sweep: none is left behind
        by a request that ended some other way)."""
        for request_id in [r for r in self.bodies if r not in live]:
            self.end_body(request_id)

    def take(self, conn: ServerConnection, relayed: RelayedStreamFrame) -> bool:
        """Handle ``relayed`` if its stream is addressed to the orchestrator; False if it is
        for the relay (a stream between two modules). Does not block."""
        sid = relayed.stream_id
        if relayed.kind != "open" and sid not in self.inbound and sid not in self.outbound:
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


async def _chunks(head: bytes, rest: memoryview, size: int) -> AsyncIterator[bytes | memoryview]:
    """The body ``head + rest`` in two pieces: ``head`` with the start of ``rest`` (one
    chunk of ``size`` bytes), then the rest of ``rest`` as a view, which
    ``RemoteOutbound.send`` cuts into chunks as they go (no copy of the value whole)."""
    first = max(size - len(head), 0)
    yield head + rest[:first]
    if len(rest) > first:
        yield rest[first:]
