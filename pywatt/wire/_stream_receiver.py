"""The receiving side of a stream: checks order and totals, grants credit as chunks are taken."""

from __future__ import annotations

import collections

from zlib_ng.zlib_ng import crc32  # zlib.crc32, computed with SIMD

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

__all__ = ["StreamReceiver"]


class StreamReceiver(StreamMachine):
    """Sans-io receiver: feed it the sender's frames with :meth:`receive`, take chunks with
    :meth:`next_chunk`, and send what :meth:`frames_to_send` returns.

    It accepts an open whose window and chunk size are within ``max_window`` and
    ``max_chunk_size`` (else it aborts with ``refused``). Data must arrive as seq 0, 1, 2, ...
    exactly once, never more than the window ahead of the consumer; the end's count, length
    and CRC-32 must match what arrived. Every breach aborts the stream and raises
    ``StreamViolation``, so a body is either delivered whole and in order or not at all.

    Credit goes back once ``grant_batch`` chunks have been taken (default: half the window,
    at least 1): fewer frames, and the sender never waits with an empty window.
    """

    side = "receiver"

    def __init__(
        self,
        *,
        max_window: int = DEFAULT_WINDOW,
        max_chunk_size: int = DEFAULT_CHUNK_SIZE,
        grant_batch: int | None = None,
    ) -> None:
        super().__init__(None)
        self.max_window = max_window
        self.max_chunk_size = max_chunk_size
        self._grant_batch = grant_batch
        #: The open frame, once received.
        self.opened: StreamOpen | None = None
        #: Data frames received / chunks taken by the consumer / payload bytes received.
        self.received = 0
        self.consumed = 0
        self.length = 0
        #: Running total of credit granted back to the sender.
        self.granted = 0
        #: The most chunks ever buffered at once (never more than the window).
        self.max_buffered = 0
        self._crc = 0
        self._buffer: collections.deque[bytes] = collections.deque()

    @property
    def buffered(self) -> int:
        """Chunks received and not yet taken by the consumer."""
        return len(self._buffer)

    @property
    def window(self) -> int:
        """The window the open frame set (0 before it arrived)."""
        return self.opened.window if self.opened is not None else 0

    def receive(self, frame: StreamFrame) -> None:
        """Take one frame from the sender.

        Frames arriving after an abort are ignored. A frame the rules do not allow aborts the
        stream (an abort frame is queued for the sender) and raises ``StreamViolation``.
        """
        if (
            type(frame) is StreamData
            and self.state is StreamState.OPEN
            and (frame.stream_id is self.stream_id or frame.stream_id == self.stream_id)
        ):
            self._on_data(frame)  # most frames
            return
        if self.state is StreamState.ABORTED:
            return
        if isinstance(frame, StreamOpen):
            self._on_open(frame)
            return
        if self.state is StreamState.IDLE:
            if isinstance(frame, StreamAbort):
                return  # the sender gave up before we knew the stream: nothing to do
            self._violation(AbortCode.PROTOCOL, f"{type(frame).__name__} before StreamOpen")
        if frame.stream_id != self.stream_id:
            self._violation(
                AbortCode.PROTOCOL, f"{type(frame).__name__} for another stream {frame.stream_id}"
            )
        if isinstance(frame, StreamAbort):
            self._peer_aborted(frame)
        elif isinstance(frame, StreamData):
            self._on_data(frame)
        elif isinstance(frame, StreamEnd):
            self._on_end(frame)
        else:
            self._violation(AbortCode.PROTOCOL, "a receiver takes no StreamCredit")

    def _on_open(self, frame: StreamOpen) -> None:
        if self.state is not StreamState.IDLE:
            self._violation(AbortCode.PROTOCOL, "a second StreamOpen")
        self.stream_id = frame.stream_id
        self.opened = frame
        self.state = StreamState.OPEN
        if not 1 <= frame.window <= self.max_window:
            self.abort(
                AbortCode.REFUSED,
                f"window {frame.window} is over this receiver's limit of {self.max_window}",
            )
        elif not 1 <= frame.chunk_size <= self.max_chunk_size:
            self.abort(
                AbortCode.REFUSED,
                f"chunk size {frame.chunk_size} is over this receiver's limit of "
                f"{self.max_chunk_size}",
            )

    def _on_data(self, frame: StreamData) -> None:
        assert self.opened is not None
        if self.state is not StreamState.OPEN:
            self._violation(AbortCode.PROTOCOL, f"StreamData seq {frame.seq} after StreamEnd")
        if frame.seq != self.received:
            what = "a repeat" if frame.seq < self.received else "a gap"
            self._violation(
                AbortCode.PROTOCOL,
                f"StreamData.seq is {frame.seq}, expected {self.received} ({what})",
            )
        if len(frame.payload) > self.opened.chunk_size:
            self._violation(
                AbortCode.TOO_LARGE,
                f"StreamData seq {frame.seq} carries {len(frame.payload)} bytes, over the "
                f"chunk size of {self.opened.chunk_size}",
            )
        if self.received + 1 - self.granted > self.opened.window:
            self._violation(
                AbortCode.PROTOCOL,
                f"StreamData seq {frame.seq} is over the window of {self.opened.window} "
                f"({self.granted} credited back)",
            )
        self.received += 1
        self.length += len(frame.payload)
        self._crc = crc32(frame.payload, self._crc)
        self._buffer.append(frame.payload)
        self.max_buffered = max(self.max_buffered, len(self._buffer))

    def _on_end(self, frame: StreamEnd) -> None:
        if self.state is not StreamState.OPEN:
            self._violation(AbortCode.PROTOCOL, "a second StreamEnd")
        for field, got, want in (
            ("chunks", frame.chunks, self.received),
            ("length", frame.length, self.length),
            ("crc32", frame.crc32, self._crc),
        ):
            if got != want:
                self._violation(
                    AbortCode.INTEGRITY,
                    f"StreamEnd.{field} is {got} but {want} arrived",
                )
        self.state = StreamState.COMPLETE if not self._buffer else StreamState.ENDED

    def next_chunk(self) -> bytes | None:
        """The next chunk for the consumer, or None when none is buffered (see :attr:`state`).

        Taking chunks earns the sender credit (queued as a ``StreamCredit``).
        """
        if not self._buffer or self.state is StreamState.ABORTED:
            return None
        chunk = self._buffer.popleft()
        self.consumed += 1
        if self.state is StreamState.ENDED:
            if not self._buffer:
                self.state = StreamState.COMPLETE
            return chunk  # the sender has nothing more to send: no credit needed
        assert self.opened is not None
        owed = self.consumed - self.granted
        batch = self._grant_batch or max(1, self.opened.window // 2)
        if owed >= min(batch, self.opened.window):
            self.granted += owed
            self._outbox.append(
                StreamCredit(stream_id=self.opened.stream_id, credit=owed, granted=self.granted)
            )
        return chunk
