"""The orchestrator's stream relay: stream frames between two modules, forwarded as they are.

A module opens a stream to another module by sending a ``StreamOpen`` whose ``peer`` names the
target (docs/protocol-extensions.md §9.4). The relay picks one open connection of the target,
remembers the stream as a :class:`Leg` (the producer's connection, the consumer's connection,
the window) and forwards the open with ``peer`` rewritten to the producer's module id. From
then on every frame with that stream id is forwarded to the other end **as the same bytes**:
a data frame is never decoded, copied into a body or reassembled here, only counted.

Memory stays bounded without a buffer of our own: credit is end to end (the consumer grants
it, the producer spends it), so at most ``window`` data frames of a stream are ever between
the two. The relay checks that: it counts data frames forwarded and reads the ``granted``
total of each credit frame going back, and a producer that goes over the window is aborted
on both sides (``protocol``). When either connection closes, the other end gets an abort
(``stopped``) at once: a module that crashes mid-stream never leaves its peer waiting.

Streams are only between pywatt modules that declared MessagePack (frame code 4); an open
for a module that is not running, that is not pywatt, or that is the sender itself is
answered with an abort (``refused``) naming why. The relay is plain data kept in the hub's
``HubState``, so a restart of the hub loses no stream.
"""

from __future__ import annotations

import collections
import contextlib
import uuid
from collections.abc import Callable
from typing import Final

import attrs
import trio

from pywatt.wire import (
    AbortCode,
    DecodeError,
    FrameFormat,
    StreamAbort,
    StreamCredit,
    StreamOpen,
    decode_stream_frame,
    encode_frame,
    encode_stream_frame,
    frame_header,
)

from ._connection import ServerConnection

__all__ = ["ENDED_TTL", "Leg", "RelayedStreamFrame", "StreamRelay"]

REQUEST_KEY: Final = "pywatt.request"
"""Open metadata: the request that announces the stream (its id)."""
ENDED_TTL: Final = 30.0
"""Seconds a stream is remembered after its end went through."""


@attrs.frozen(eq=False)
class RelayedStreamFrame:
    """A code-4 stream frame read by a listener: its kind, stream id and payload bytes."""

    kind: str
    stream_id: uuid.UUID
    payload: bytes


@attrs.define(eq=False)
class Leg:
    """One stream through the orchestrator: ``producer`` sends data, ``consumer`` credit."""

    producer: ServerConnection
    consumer: ServerConnection
    window: int
    data: int = 0
    """Data frames forwarded to the consumer."""
    granted: int = 0
    """Credit the consumer granted (the running total of its credit frames)."""
    ended: float | None = None
    """When the producer's end went through: the consumer may still abort (a body that
    does not match its end), so the leg is kept for :data:`ENDED_TTL` seconds."""


def _frame(payload: bytes) -> bytes:
    return encode_frame(FrameFormat.MSGPACK, payload)


def _abort(stream_id: uuid.UUID, code: AbortCode, reason: str) -> bytes:
    return _frame(encode_stream_frame(StreamAbort(stream_id=stream_id, code=code, reason=reason)))


class StreamRelay:
    """The streams in flight between modules (see the module docstring). Plain data: only the
    hub calls it, from its own messages."""

    def __init__(self) -> None:
        self.legs: dict[uuid.UUID, Leg] = {}
        self.refused: dict[tuple[str, uuid.UUID], float] = {}
        """Requests announced by a refused open (``pywatt.request`` in its metadata), by
        (caller, request id): the hub answers them instead of forwarding them, so a module
        that takes no streams never gets a request whose value is in one."""
        self.counts: collections.Counter[str] = collections.Counter()
        self.queued: collections.Counter[uuid.UUID] = collections.Counter()
        """Frames of each stream told to the hub and not yet handled by it (see
        :meth:`forward_direct`)."""

    def forward_direct(self, conn: ServerConnection, frame: RelayedStreamFrame) -> bool:
        """Forward ``frame`` now, from the listener that read it, if that keeps the order:
        its stream is known (the hub handled its open) and no earlier frame of it waits in
        the hub's mailbox. Returns False when the hub must take it (then :meth:`queue` it).
        Saves a hand-off to the hub per chunk. Does not block."""
        if frame.kind == "open" or frame.stream_id in self.queued:  # (no zero counts kept)
            return False
        leg = self.legs.get(frame.stream_id)
        if leg is None or (conn is not leg.producer and conn is not leg.consumer):
            return False  # the hub drops it and counts it
        self._forward(conn, frame, leg)
        return True

    def queue(self, frame: RelayedStreamFrame) -> None:
        """``frame`` goes to the hub: later frames of its stream follow it there."""
        self.queued[frame.stream_id] += 1

    def _drop(self, sid: uuid.UUID) -> None:
        """Forget a stream; its frames still with the hub are dropped there (no leg), so
        their count goes too (a hub restart that loses its mailbox leaves none behind)."""
        self.legs.pop(sid, None)
        self.queued.pop(sid, None)

    def settle(self, frame: RelayedStreamFrame) -> None:
        """``frame`` was queued for the hub and taken by someone else (a stream to the
        orchestrator itself): later frames of its stream need not wait for it."""
        if frame.stream_id in self.queued:
            self._handled(frame)

    def _handled(self, frame: RelayedStreamFrame) -> None:
        left = self.queued[frame.stream_id] - 1
        if left > 0:
            self.queued[frame.stream_id] = left
        else:
            del self.queued[frame.stream_id]

    def on_frame(
        self,
        conn: ServerConnection,
        frame: RelayedStreamFrame,
        conn_for: Callable[[str], ServerConnection | None],
        known: Callable[[str], bool],
    ) -> None:
        """Forward one stream frame that ``conn`` sent. ``conn_for(module_id)`` is the
        connection a frame to that module goes on; ``known(module_id)`` whether the module is
        one of the orchestrator's. Does not block."""
        if frame.stream_id in self.queued:
            self._handled(frame)
        if frame.kind == "open":
            self._open(conn, frame, conn_for, known)
            return
        leg = self.legs.get(frame.stream_id)
        if leg is None:
            self.counts["stream_frames_dropped"] += 1  # after an abort or the end: ignored
            return
        if conn is not leg.producer and conn is not leg.consumer:
            self.counts["stream_frames_dropped"] += 1  # not one of its ends: not yours
            return
        self._forward(conn, frame, leg)

    def _forward(self, conn: ServerConnection, frame: RelayedStreamFrame, leg: Leg) -> None:
        from_producer = conn is leg.producer
        to = leg.consumer if from_producer else leg.producer
        if frame.kind == "data" and from_producer:
            leg.data += 1
            if leg.data - leg.granted > leg.window:
                self._kill(
                    leg, frame.stream_id, AbortCode.PROTOCOL,
                    f"module {leg.producer.module_id!r} sent {leg.data} chunks with "
                    f"{leg.granted} credited back, over the window of {leg.window}",
                )  # fmt: skip
                return
            self.counts["stream_chunks"] += 1
        elif frame.kind == "credit" and not from_producer:
            try:
                credit = decode_stream_frame(frame.payload)
            except DecodeError:
                credit = None
            if isinstance(credit, StreamCredit):
                leg.granted = max(leg.granted, credit.granted)
        elif frame.kind == "end" and from_producer:
            leg.ended = trio.current_time()
        elif frame.kind == "abort":  # the last frame either end sends
            self._drop(frame.stream_id)
        # The same bytes on: the header made anew, the payload not copied.
        if not to.send_nowait(frame_header(FrameFormat.MSGPACK, len(frame.payload)), frame.payload):
            self._gone(frame.stream_id, leg, to)

    def _open(
        self,
        conn: ServerConnection,
        frame: RelayedStreamFrame,
        conn_for: Callable[[str], ServerConnection | None],
        known: Callable[[str], bool],
    ) -> None:
        sid = frame.stream_id
        try:
            opened = decode_stream_frame(frame.payload)
        except DecodeError as exc:
            conn.send_nowait(_abort(sid, AbortCode.PROTOCOL, f"a malformed StreamOpen: {exc}"))
            return
        assert isinstance(opened, StreamOpen)
        target_id = opened.peer
        problem = None
        target = conn_for(target_id) if target_id else None
        if not target_id:
            problem = "a StreamOpen to the orchestrator must name its target module in `peer`"
        elif sid in self.legs:
            problem = f"stream {sid} is open already"
        elif target_id == conn.module_id:
            problem = "a module cannot stream to itself through the orchestrator"
        elif target is None:
            problem = (
                f"module {target_id!r} is not running (no open channel)"
                if known(target_id)
                else f"no module named {target_id!r}"
            )
        elif target.declaration is None or "msgpack" not in target.declaration.formats:
            problem = f"module {target_id!r} does not take streams (not a pywatt module)"
        if problem is not None or target is None:
            self.counts["streams_refused"] += 1
            request = opened.metadata.get(REQUEST_KEY)
            if request is not None:
                with contextlib.suppress(ValueError):
                    key = (conn.module_id, uuid.UUID(request))
                    self.refused[key] = trio.current_time() + ENDED_TTL
            conn.send_nowait(_abort(sid, AbortCode.REFUSED, problem or "refused"))
            return
        leg = Leg(conn, target, opened.window)
        forwarded = attrs.evolve(opened, peer=conn.module_id)
        self.legs[sid] = leg
        self.counts["streams"] += 1
        if not target.send_nowait(_frame(encode_stream_frame(forwarded))):
            self._gone(sid, leg, target)

    def _gone(self, sid: uuid.UUID, leg: Leg, closed: ServerConnection) -> None:
        """``closed`` took no more frames: tell the other end, forget the stream."""
        other = leg.producer if closed is leg.consumer else leg.consumer
        self._drop(sid)
        if leg.ended is not None and other is leg.producer:
            return  # the producer is done with it
        other.send_nowait(
            _abort(
                sid, AbortCode.STOPPED,
                f"module {closed.module_id!r} lost its channel mid-stream "
                f"({closed.close_reason or 'closed'})",
            )
        )  # fmt: skip

    def _kill(self, leg: Leg, sid: uuid.UUID, code: AbortCode, reason: str) -> None:
        self._drop(sid)
        self.counts["streams_killed"] += 1
        for side in (leg.producer, leg.consumer):
            side.send_nowait(_abort(sid, code, reason))

    def take_refused(self, caller: str, request_id: uuid.UUID) -> bool:
        """Whether request ``request_id`` of ``caller`` was announced by a refused open (it
        is then forgotten: a request re-sent whole with the same id goes through)."""
        return self.refused.pop((caller, request_id), None) is not None

    def sweep(self, now: float) -> None:
        """Forget the streams ended more than :data:`ENDED_TTL` seconds ago."""
        for key, expires in list(self.refused.items()):
            if expires < now:
                del self.refused[key]
        for sid, leg in list(self.legs.items()):
            if leg.ended is not None and now - leg.ended > ENDED_TTL:
                self._drop(sid)

    def closed(self, conn: ServerConnection) -> None:
        """``conn`` closed: abort every stream through it toward its other end."""
        for sid, leg in list(self.legs.items()):
            if conn is leg.producer or conn is leg.consumer:
                self.counts["streams_interrupted"] += 1
                self._gone(sid, leg, conn)

    def __len__(self) -> int:
        return len(self.legs)
