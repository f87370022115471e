"""Streams between actors: a long body from a producer to a consuming actor, paced by credit.

The producer offers the receiving end inside a request to the consumer::

    async with actors.open_stream(ref, lambda s: Upload("a.bin", s)) as stream:
        await stream.send(chunk)
    print(stream.reply)            # what the consumer's handler returned

and the consumer's handler reads it::

    async def receive(self, message: Upload) -> int:
        return sum([len(chunk) async for chunk in message.stream])

At most ``window`` chunks are ever sent and not yet taken by the consumer, so a slow
consumer slows the producer and memory stays bounded. The stream lives as long as the
consumer's handling of that request: a crash, a stop or a return before the end aborts it,
and so does a cancellation or an error on either side. An aborted stream raises
:class:`StreamAborted` on the other side (from ``send`` or from the iteration), never a hang.
The rules are those of ``pywatt.wire.StreamSender`` / ``StreamReceiver``, without the frames.
"""

from __future__ import annotations

import contextlib
import enum
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import outcome
import trio

from ._errors import ActorCrashed, ActorError, ActorStopped, MailboxFull
from ._mailbox import Ask

if TYPE_CHECKING:
    from ._messages import Request
    from ._ref import ActorRef

R = TypeVar("R")

DEFAULT_STREAM_CHUNK_SIZE = 64 * 1024
"""Largest chunk a stream carries by default: 64 KiB (larger sends are split)."""
DEFAULT_STREAM_WINDOW = 10
"""Chunks a producer may have sent and the consumer not yet taken, by default."""


class StreamAbortReason(enum.Enum):
    """Why a stream was aborted. The values are those of ``pywatt.wire.AbortCode``."""

    CANCELLED = "cancelled"
    """That side gave up on purpose: cancelled, closed early, or returned before the end."""
    CRASHED = "crashed"
    """The code holding that end raised (the producer's block, the consuming actor)."""
    STOPPED = "stopped"
    """The consuming actor stopped before it finished the stream."""
    PROTOCOL = "protocol"
    """The peer broke the stream rules (only on the wire)."""
    INTEGRITY = "integrity"
    """The body arrived damaged (only on the wire)."""
    REFUSED = "refused"
    """The receiver would not take the stream (only on the wire)."""
    TOO_LARGE = "too_large"
    """A chunk was over the stream's chunk size (only on the wire)."""
    APPLICATION = "application"
    """The application aborted it, or the consumer answered with an error before the end."""
    IDLE = "idle"
    """The consumer took no chunk for the idle timeout while chunks waited (only on the
    wire: a reply stream nobody reads)."""


class StreamAborted(ActorError):
    """The stream ended unfinished. ``reason`` says why, ``by`` says which side ended it
    (``"producer"`` or ``"consumer"``), ``detail`` is text; ``__cause__`` is the error that
    caused it, if any."""

    def __init__(self, reason: StreamAbortReason, by: str, detail: str = "") -> None:
        text = f"stream aborted by the {by} ({reason.value})"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.reason = reason
        self.by = by
        self.detail = detail


@attrs.frozen
class StreamStatistics:
    """Counters of one stream. ``max_in_flight`` never exceeds ``window``."""

    window: int
    chunk_size: int
    sent: int
    """Chunks sent by the producer."""
    sent_bytes: int
    consumed: int
    """Chunks taken by the consumer."""
    in_flight: int
    """Chunks sent and not yet taken: the memory the stream holds."""
    max_in_flight: int
    ended: bool
    complete: bool
    aborted: StreamAborted | None


class _Pipe:
    """The state both ends share: the chunks in flight, the counters and who waits."""

    def __init__(self, window: int, chunk_size: int) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 chunk, not {window}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size}")
        self.window = window
        self.chunk_size = chunk_size
        self.chunks: deque[bytes] = deque()
        self.sent = 0
        self.sent_bytes = 0
        self.consumed = 0
        self.max_in_flight = 0
        self.ended = False
        self.complete = False
        self.aborted: StreamAborted | None = None
        self.producer_lot = trio.lowlevel.ParkingLot()
        self.consumer_lot = trio.lowlevel.ParkingLot()

    @property
    def in_flight(self) -> int:
        return self.sent - self.consumed

    def abort(
        self,
        reason: StreamAbortReason,
        by: str,
        detail: str = "",
        cause: BaseException | None = None,
    ) -> None:
        """End the stream unfinished (the first abort wins) and wake both sides."""
        if self.aborted is not None or self.complete:
            return
        error = StreamAborted(reason, by, detail)
        error.__cause__ = cause
        self.aborted = error
        self.chunks.clear()
        self.wake()

    def wake(self) -> None:
        self.producer_lot.unpark_all()
        self.consumer_lot.unpark_all()

    def raise_if_aborted(self) -> None:
        if self.aborted is not None:
            # A fresh error each time: one exception object must not be raised in two tasks.
            error = StreamAborted(self.aborted.reason, self.aborted.by, self.aborted.detail)
            error.__cause__ = self.aborted.__cause__
            raise error

    def statistics(self) -> StreamStatistics:
        return StreamStatistics(
            window=self.window,
            chunk_size=self.chunk_size,
            sent=self.sent,
            sent_bytes=self.sent_bytes,
            consumed=self.consumed,
            in_flight=self.in_flight,
            max_in_flight=self.max_in_flight,
            ended=self.ended,
            complete=self.complete,
            aborted=self.aborted,
        )


class OutboundStream(Generic[R]):
    """The producer's end (from :func:`open_stream`): ``send`` chunks, leave the block to end."""

    def __init__(self, pipe: _Pipe, metadata: dict[str, str]) -> None:
        self._pipe = pipe
        self.metadata = metadata
        self._reply: R | None = None
        self._reply_error: BaseException | None = None
        self._replied = trio.Event()

    @property
    def reply(self) -> R:
        """What the consumer's handler returned, once the block is left."""
        if not self._replied.is_set():
            raise RuntimeError("the consumer has not answered yet")
        if self._reply_error is not None:
            raise RuntimeError("the consumer answered with an error") from self._reply_error
        return self._reply  # type: ignore[return-value]

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``, split into chunks of at most ``chunk_size`` bytes (none if empty).

        Waits while the window is full (the consumer is behind). Raises
        :class:`StreamAborted` if the stream was aborted; a cancellation while waiting aborts
        the stream (the consumer sees ``cancelled``).
        """
        pipe = self._pipe
        if pipe.ended and pipe.aborted is None:
            raise trio.ClosedResourceError("this stream was ended; nothing more can be sent")
        body = bytes(data)
        size = pipe.chunk_size
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            pipe.raise_if_aborted()
            for start in range(0, len(body), size):
                piece = body[start : start + size]  # one chunk at a time: no copy of the rest
                pipe.raise_if_aborted()
                while pipe.in_flight >= pipe.window:
                    await pipe.producer_lot.park()
                    pipe.raise_if_aborted()
                pipe.chunks.append(piece)
                pipe.sent += 1
                pipe.sent_bytes += len(piece)
                pipe.max_in_flight = max(pipe.max_in_flight, pipe.in_flight)
                pipe.consumer_lot.unpark_all()
            await trio.lowlevel.cancel_shielded_checkpoint()
        except trio.Cancelled:
            pipe.abort(StreamAbortReason.CANCELLED, "producer", "the producer was cancelled")
            raise

    async def end(self) -> None:
        """End the stream and wait until the consumer took every chunk and answered.

        Raises :class:`StreamAborted` if the stream is aborted before that, and the error of
        the consumer's handler if it raised after reading to the end. A cancellation while
        waiting aborts the stream.
        """
        pipe = self._pipe
        pipe.raise_if_aborted()
        pipe.ended = True
        if not pipe.chunks:
            pipe.complete = True
        pipe.wake()
        try:
            while not (pipe.complete and self._replied.is_set()) and pipe.aborted is None:
                await pipe.producer_lot.park()
        except trio.Cancelled:
            pipe.abort(StreamAbortReason.CANCELLED, "producer", "the producer was cancelled")
            raise
        pipe.raise_if_aborted()
        if self._reply_error is not None:
            raise self._reply_error

    def abort(
        self, detail: str = "", reason: StreamAbortReason = StreamAbortReason.APPLICATION
    ) -> None:
        """Abort the stream now; the consumer's iteration raises :class:`StreamAborted`."""
        self._pipe.abort(reason, "producer", detail)

    def statistics(self) -> StreamStatistics:
        """The stream's counters (the same object the consumer's end reports)."""
        return self._pipe.statistics()

    def _on_reply(self, result: outcome.Outcome[Any]) -> None:
        """The consumer's handler answered (or crashed, or stopped): called once, synchronously."""
        self._replied.set()
        pipe = self._pipe
        if isinstance(result, outcome.Value):
            self._reply = result.value
        elif isinstance(result, outcome.Error):
            error = self._reply_error = result.error
            if isinstance(error, ActorCrashed):
                pipe.abort(StreamAbortReason.CRASHED, "consumer", str(error), error)
            elif isinstance(error, ActorStopped | MailboxFull):
                pipe.abort(StreamAbortReason.STOPPED, "consumer", str(error), error)
            else:
                detail = f"the handler raised {type(error).__name__}: {error}"
                pipe.abort(StreamAbortReason.APPLICATION, "consumer", detail, error)
        if isinstance(result, outcome.Value) and not pipe.complete:
            pipe.abort(
                StreamAbortReason.CANCELLED,
                "consumer",
                "the handler returned before the end of the stream "
                "(to read it in a task, answer with ctx.defer_reply())",
            )
        pipe.wake()


class InboundStream:
    """The consumer's end: iterate it (``async for chunk in stream``) to the end.

    Each chunk is ``bytes`` of at most ``chunk_size``. Iteration ends after the last chunk;
    it raises :class:`StreamAborted` if the producer aborted, crashed or was cancelled. A
    cancellation while waiting for a chunk aborts the stream (the producer sees
    ``cancelled``). Only one task may read it at a time.
    """

    def __init__(self, pipe: _Pipe, metadata: dict[str, str]) -> None:
        self._pipe = pipe
        self.metadata = metadata
        self._reading = False

    def __aiter__(self) -> InboundStream:
        return self

    async def __anext__(self) -> bytes:
        pipe = self._pipe
        if self._reading:
            raise trio.BusyResourceError("another task is already reading this stream")
        self._reading = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            while not pipe.chunks:
                pipe.raise_if_aborted()
                if pipe.ended:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    raise StopAsyncIteration
                await pipe.consumer_lot.park()
        except trio.Cancelled:
            pipe.abort(StreamAbortReason.CANCELLED, "consumer", "the consumer was cancelled")
            raise
        finally:
            self._reading = False
        chunk = pipe.chunks.popleft()
        pipe.consumed += 1
        if pipe.ended and not pipe.chunks:
            pipe.complete = True
        pipe.producer_lot.unpark_all()  # credit for one more chunk
        return chunk

    async def read_all(self, max_size: int | None = None) -> bytes:
        """The whole body; aborts the stream (``too_large``) once it grows past ``max_size``."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self:
            size += len(chunk)
            if max_size is not None and size > max_size:
                detail = f"the body is over the consumer's limit of {max_size} bytes"
                self._pipe.abort(StreamAbortReason.TOO_LARGE, "consumer", detail)
                self._pipe.raise_if_aborted()
            parts.append(chunk)
        return b"".join(parts)

    def abort(
        self, detail: str = "", reason: StreamAbortReason = StreamAbortReason.CANCELLED
    ) -> None:
        """Give up on the stream; the producer's ``send`` raises :class:`StreamAborted`."""
        self._pipe.abort(reason, "consumer", detail)

    def statistics(self) -> StreamStatistics:
        """The stream's counters."""
        return self._pipe.statistics()


@contextlib.asynccontextmanager
async def open_stream(
    target: ActorRef[Any],
    offer: Callable[[InboundStream], Request[R]],
    *,
    window: int = DEFAULT_STREAM_WINDOW,
    chunk_size: int = DEFAULT_STREAM_CHUNK_SIZE,
    metadata: dict[str, str] | None = None,
) -> AsyncIterator[OutboundStream[R]]:
    """Offer a stream to the actor ``target`` and yield its sending end.

    ``offer(inbound)`` builds the request that carries the receiving end; it is asked of
    ``target`` (waiting for mailbox room like ``ask``), and the consumer's handler reads the
    stream. Leaving the block normally ends the stream and waits for the consumer's answer
    (``stream.reply``): if the consumer stopped reading early, that raises
    :class:`StreamAborted`. Leaving it with an error aborts the stream (``crashed``, or
    ``cancelled`` for a cancellation) and does not wait. Deadlines are the caller's.
    """
    pipe = _Pipe(window, chunk_size)
    meta = dict(metadata or {})
    outbound: OutboundStream[R] = OutboundStream(pipe, meta)
    message = offer(InboundStream(pipe, meta))
    cell = target._live()
    cell.check(message)
    ask = Ask(message, outbound._on_reply)
    with contextlib.suppress(MailboxFull):  # the ask was failed already: _on_reply saw it
        await cell.mailbox.put_ask(ask)
    try:
        yield outbound
    except trio.Cancelled:
        pipe.abort(StreamAbortReason.CANCELLED, "producer", "the producer was cancelled")
        raise
    except BaseException as exc:
        detail = f"the producer raised {type(exc).__name__}: {exc}"
        pipe.abort(StreamAbortReason.CRASHED, "producer", detail, exc)
        raise
    await outbound.end()
