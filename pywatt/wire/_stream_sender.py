"""The sending side of a stream: it may send a chunk only while it holds credit."""

from __future__ import annotations

import uuid

from zlib_ng.zlib_ng import crc32  # zlib.crc32, computed with SIMD

from ._stream_errors import ChunkTooLarge, NoCredit
from ._stream_frames import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_WINDOW,
    AbortCode,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamFrame,
    StreamOpen,
)
from ._stream_machine import StreamMachine, StreamState

__all__ = ["StreamSender"]


class StreamSender(StreamMachine):
    """Sans-io sender: ``open()``, then ``send(payload)`` while :attr:`credit` > 0, then
    ``end()``; feed every frame from the peer to :meth:`receive`.

    It starts with ``window`` credit once open; each chunk spends one and each
    ``StreamCredit`` from the receiver adds some back. So at most ``window`` chunks are ever
    sent and not yet taken by the receiver's consumer (:attr:`in_flight`).
    """

    side = "sender"

    def __init__(
        self,
        endpoint: str,
        *,
        stream_id: uuid.UUID | None = None,
        metadata: dict[str, str] | None = None,
        window: int = DEFAULT_WINDOW,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 chunk, not {window}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size}")
        super().__init__(stream_id if stream_id is not None else uuid.uuid4())
        self.endpoint = endpoint
        self.metadata = dict(metadata or {})
        self.window = window
        self.chunk_size = chunk_size
        #: Chunks sent so far (the next chunk's seq).
        self.sent = 0
        #: Payload bytes sent so far.
        self.length = 0
        #: Running total of credit granted by the receiver's credit frames.
        self.granted = 0
        #: The most chunks ever in flight at once (never more than the window).
        self.max_in_flight = 0
        self._crc = 0

    @property
    def sid(self) -> uuid.UUID:
        """The stream id (a sender always has one; ``stream_id`` is typed for the receiver)."""
        assert self.stream_id is not None
        return self.stream_id

    @property
    def credit(self) -> int:
        """Chunks that may be sent now."""
        if self.state is not StreamState.OPEN:
            return 0
        return self.window - self.in_flight

    @property
    def in_flight(self) -> int:
        """Chunks sent that the receiver has not given credit back for."""
        return self.sent - self.granted

    def open(self) -> None:
        """Queue the ``StreamOpen`` frame; from now on :attr:`credit` is the window."""
        self._require(StreamState.IDLE, action="open the stream")
        self.state = StreamState.OPEN
        self._outbox.append(
            StreamOpen(
                stream_id=self.sid,
                endpoint=self.endpoint,
                metadata=dict(self.metadata),
                window=self.window,
                chunk_size=self.chunk_size,
            )
        )

    def send(self, payload: bytes | bytearray | memoryview) -> None:
        """Queue one data frame. Raises ``NoCredit`` without credit and ``ChunkTooLarge`` for
        a payload over the chunk size (the state is unchanged then)."""
        seq = self.count(payload)
        self._outbox.append(StreamData(stream_id=self.sid, seq=seq, payload=bytes(payload)))

    def count(self, payload: bytes | bytearray | memoryview) -> int:
        """Account for one data frame that the caller writes itself (with
        ``encode_stream_data``, no frame object queued) and return its seq; the same checks
        and errors as :meth:`send`. The payload is read, not kept."""
        if self.state is not StreamState.OPEN:
            self._require(StreamState.OPEN, action="send a chunk")
        size = len(payload)
        if size > self.chunk_size:
            raise ChunkTooLarge(size, self.chunk_size)
        if self.sent - self.granted >= self.window:
            raise NoCredit(
                f"no credit: {self.in_flight} chunks in flight fill the window of {self.window}"
            )
        seq = self.sent
        self.sent = seq + 1
        self.length += size
        self._crc = crc32(payload, self._crc)
        in_flight = self.sent - self.granted
        if in_flight > self.max_in_flight:
            self.max_in_flight = in_flight
        return seq

    def end(self) -> None:
        """Queue the ``StreamEnd`` frame with the chunk count, length and CRC-32 of the body."""
        self._require(StreamState.OPEN, action="end the stream")
        self.state = StreamState.ENDED
        self._outbox.append(
            StreamEnd(stream_id=self.sid, chunks=self.sent, length=self.length, crc32=self._crc)
        )

    def receive(self, frame: StreamFrame) -> None:
        """Take one frame from the receiver: a credit grant or an abort.

        Frames arriving after the stream is aborted are ignored. Anything else the rules do
        not allow raises ``StreamViolation`` (the sender is aborted then, with a
        ``StreamAbort`` queued for the peer).
        """
        if self.state is StreamState.ABORTED:
            return
        if isinstance(frame, StreamAbort):
            if frame.stream_id != self.stream_id:
                self._violation(AbortCode.PROTOCOL, f"abort for another stream {frame.stream_id}")
            self._peer_aborted(frame)
            return
        if frame.stream_id != self.stream_id:
            self._violation(
                AbortCode.PROTOCOL, f"{type(frame).__name__} for another stream {frame.stream_id}"
            )
        if not isinstance(frame, StreamCredit):
            self._violation(AbortCode.PROTOCOL, f"a sender takes no {type(frame).__name__}")
        if self.state is StreamState.IDLE:
            self._violation(AbortCode.PROTOCOL, "StreamCredit before the stream was opened")
        expected = self.granted + frame.credit
        if frame.credit < 1 or frame.granted != expected:
            what = "repeated or reordered" if frame.granted < expected else "one was lost"
            self._violation(
                AbortCode.PROTOCOL,
                f"StreamCredit.granted is {frame.granted}, expected {expected} "
                f"(credit {frame.credit} on top of {self.granted}): {what}",
            )
        if frame.granted > self.sent:
            self._violation(
                AbortCode.PROTOCOL,
                f"StreamCredit.granted is {frame.granted} but only {self.sent} chunks were sent",
            )
        self.granted = frame.granted
