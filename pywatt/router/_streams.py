"""Streams between modules: the module's ends of pywatt streams (docs/protocol-extensions.md §9).

A stream's frames travel on one channel connection as code-4 (MessagePack) frames, through
the orchestrator's relay, to the other module. This module holds both kinds of ends:

* :class:`RemoteOutbound`, the producer's end: ``send`` cuts data into chunks and waits
  while the window is full; credit frames from the consumer open it again.
* :class:`RemoteInbound`, the consumer's end: an async iterator of chunks; taking a chunk
  grants credit back (``pywatt.wire.StreamReceiver`` decides when).

Both follow ``actors.open_stream``'s rules and raise ``actors.StreamAborted`` on the other
side of any early end: a cancellation, an error, a peer that crashed (its channel closed at
the orchestrator, which aborts the stream for it), our own channel closing, or a frame
that breaks the rules (a gap, a repeat, a wrong count or CRC-32 at the end).

The :class:`StreamTable` finds an end by stream id. It belongs to the router's name (like
its endpoints), so a restart of the router loses no stream. An inbound stream is *claimed*
by whoever waits for it: the handler of the request that announced it, or the caller whose
reply announced it. Its open frame and that request can arrive in either order (they may
come on different connections), so a claim of a stream not opened yet makes a placeholder
that the open fills, and an open nobody claims waits, holding at most a window of chunks.
Either kind is aborted after :data:`CLAIM_TIMEOUT` seconds (:meth:`StreamTable.sweep`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
import outcome
import trio

from actors import ActorContext, StreamAborted, StreamAbortReason, StreamStatistics, TaskHandle
from pywatt.channels import NoChannel, Writer, WriterRevoked
from pywatt.wire import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_WINDOW,
    AbortCode,
    FrameFormat,
    StreamAbort,
    StreamData,
    StreamFrame,
    StreamOpen,
    StreamReceiver,
    StreamSender,
    StreamState,
    StreamViolation,
    encode_frame,
    encode_stream_data,
    encode_stream_frame,
)

from ._errors import RequestInterrupted, RequestTimeout, RouterError

__all__ = [
    "CLAIM_TIMEOUT",
    "IDLE_TIMEOUT",
    "MAX_WINDOW",
    "Answer",
    "RemoteInbound",
    "RemoteOutbound",
    "StreamTable",
    "StreamsUnsupported",
]

MAX_WINDOW: Final = 64
"""The largest window a module takes from a producer: 64 chunks (4 MiB of 64 KiB chunks) held
at most per stream. Producers default to 10 (``DEFAULT_WINDOW``); a larger window keeps a
long stream moving when every hop waits for a busy CPU (benchmarks/streams.py)."""
MAX_BACKLOG: Final = 4096
"""Small frames kept at most while no writer is at hand (:attr:`StreamTable.backlog`)."""
CLAIM_TIMEOUT: Final = 30.0
"""Seconds an open nobody claimed, or a claim whose open never came, is kept."""
IDLE_TIMEOUT: Final = 120.0
"""Default seconds a stream may stand still with chunks waiting for a consumer that takes
none (or a producer waiting for credit that never comes) before both sides get ``idle``."""

_CONSUMER: Final = "consumer"
_PRODUCER: Final = "producer"


class StreamsUnsupported(RouterError, RuntimeError):
    """No channel to the orchestrator carries streams: the orchestrator did not declare
    MessagePack (a Rust orchestrator), or no channel is up."""


def _frame(frame: StreamFrame) -> bytes:
    return encode_frame(FrameFormat.MSGPACK, encode_stream_frame(frame))


def _aborted(frame: StreamAbort, by: str) -> StreamAborted:
    return StreamAborted(StreamAbortReason(frame.code.value), by, frame.reason)


def _fresh(error: StreamAborted) -> StreamAborted:
    """A new exception object each time: one object must not be raised in two tasks."""
    copy = StreamAborted(error.reason, error.by, error.detail)
    copy.__cause__ = error.__cause__
    return copy


class _End:
    """What both ends share: the channel they write on, the table, who waits."""

    def __init__(self, table: StreamTable, channel: str | None) -> None:
        self.table = table
        self.channel = channel
        self.aborted: StreamAborted | None = None
        self.lot = trio.lowlevel.ParkingLot()
        self.mark: tuple[object, float] = (None, 0.0)
        """The stream's progress at the last sweep that saw it change, and when (idle)."""
        self._settled = trio.Event()
        """Set once the open arrived (inbound) or the stream failed."""

    def _flush(self, machine: StreamSender | StreamReceiver) -> None:
        """Write the frames the machine queued (credit, abort, open, end: small ones)."""
        if not machine.has_frames_to_send:  # most chunks queue nothing
            return
        for frame in machine.frames_to_send():
            self.table.put(self.channel, _frame(frame))

    def _fail(self, error: StreamAborted) -> None:
        if self.aborted is None:
            self.aborted = error
        self.lot.unpark_all()
        self._settled.set()

    def _raise_if_aborted(self) -> None:
        if self.aborted is not None:
            raise _fresh(self.aborted)


class RemoteOutbound(_End):
    """The producer's end of a stream to another module (see the module docstring)."""

    def __init__(self, table: StreamTable, channel: str, sender: StreamSender) -> None:
        super().__init__(table, channel)
        self.sender = sender
        self.metadata = dict(sender.metadata)
        self.on_refused: Callable[[StreamAborted], None] | None = None
        """Called once if the orchestrator or the consumer refuses the stream (``refused``)."""
        self.on_failed: Callable[[StreamAborted], None] | None = None
        """Called once when the stream fails, whichever way."""

    def _fail(self, error: StreamAborted) -> None:
        first = self.aborted is None
        super()._fail(error)
        if first and self.on_failed is not None:
            self.on_failed(error)

    @property
    def stream_id(self) -> uuid.UUID:
        return self.sender.sid

    @property
    def sending(self) -> bool:
        """Opened, not ended, not aborted: ``send`` may still be called."""
        return self.aborted is None and self.sender.state is StreamState.OPEN

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` in chunks of at most ``chunk_size`` bytes (none if empty), waiting
        while the window is full. Raises ``StreamAborted``; a cancellation aborts the stream
        (the consumer sees ``cancelled``). Raises ``trio.ClosedResourceError`` after the end."""
        sender = self.sender
        if sender.state is StreamState.ENDED:
            raise trio.ClosedResourceError("this stream was ended; nothing more can be sent")
        view = memoryview(data).cast("B")
        size = sender.chunk_size
        sid = sender.sid.bytes
        table, channel = self.table, self.channel
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            for start in range(0, len(view), size):
                self._raise_if_aborted()
                while sender.credit < 1:
                    await self.lot.park()
                    self._raise_if_aborted()
                chunk = view[start : start + size]
                # The frame is built around the chunk in one copy (no frame object).
                frame = encode_stream_data(sid, sender.count(chunk), chunk)
                if not table.offer(channel, frame):  # the outbox is full: wait for room
                    await table.write(channel, frame)
            self._raise_if_aborted()
        except trio.Cancelled:
            self.abort("the producer was cancelled", StreamAbortReason.CANCELLED)
            raise

    def end(self) -> None:
        """Send the end frame (the count, length and CRC-32 of the body). Raises
        ``StreamAborted`` if the stream was aborted. Does not block."""
        self._raise_if_aborted()
        if self.sender.state is StreamState.OPEN:
            self.sender.end()
            self._flush(self.sender)

    def release(self) -> None:
        """Forget the stream once nothing more about it matters (after its end, an abort
        from the consumer, such as a refusal, may still come: it is kept until then)."""
        self.table.forget(self.stream_id, self)

    def abort(
        self, detail: str = "", reason: StreamAbortReason = StreamAbortReason.APPLICATION
    ) -> None:
        """Abort the stream now; the consumer's iteration raises ``StreamAborted``."""
        if self.aborted is not None:
            return
        error = StreamAborted(reason, _PRODUCER, detail)
        self.sender.abort(AbortCode(reason.value), detail)
        self._flush(self.sender)
        self._fail(error)
        self.table.forget(self.stream_id, self)

    def fail(self, error: StreamAborted) -> None:
        """End the stream with ``error`` (whoever it names), telling the consumer."""
        if self.aborted is not None:
            return
        self.sender.abort(AbortCode(error.reason.value), error.detail)
        self._flush(self.sender)
        self._fail(error)
        self.table.forget(self.stream_id, self)

    def statistics(self) -> StreamStatistics:
        s = self.sender
        return StreamStatistics(
            window=s.window,
            chunk_size=s.chunk_size,
            sent=s.sent,
            sent_bytes=s.length,
            consumed=s.granted,
            in_flight=s.in_flight,
            max_in_flight=s.max_in_flight,
            ended=s.state is StreamState.ENDED,
            complete=s.state is StreamState.ENDED and s.in_flight == 0,
            aborted=self.aborted,
        )

    def on_frame(self, frame: StreamFrame) -> None:
        """A frame from the consumer: credit, or an abort."""
        try:
            self.sender.receive(frame)
        except StreamViolation as exc:
            self._flush(self.sender)
            self._fail(StreamAborted(StreamAbortReason(exc.code.value), _CONSUMER, exc.detail))
            self.table.forget(self.stream_id, self)
            return
        if self.sender.state is StreamState.ABORTED and self.sender.abort_frame is not None:
            error = _aborted(self.sender.abort_frame, _CONSUMER)
            self._fail(error)
            self.table.forget(self.stream_id, self)
            if error.reason is StreamAbortReason.REFUSED and self.on_refused is not None:
                self.on_refused(error)
            return
        if self.lot:  # someone waits (for credit, or for a chunk)
            self.lot.unpark_all()

    def lost(self, detail: str) -> None:
        """Our channel closed: nothing more can reach the consumer."""
        if self.aborted is None and self.sender.state is StreamState.OPEN:
            self.sender.abort(AbortCode.STOPPED, detail)
            self.sender.frames_to_send()
            self._fail(StreamAborted(StreamAbortReason.STOPPED, _CONSUMER, detail))


class RemoteInbound(_End):
    """The consumer's end of a stream from another module: ``async for chunk in stream``.

    Each chunk is ``bytes`` of at most ``chunk_size``. Iteration ends after the last chunk
    (the end frame's count, length and CRC-32 checked); it raises ``StreamAborted`` if the
    stream ended early. A cancellation while waiting aborts the stream (the producer sees
    ``cancelled``). One task reads it at a time. ``source`` is the producing module's id and
    ``metadata`` what it sent with the open (both known once the open arrived).
    """

    def __init__(self, table: StreamTable, stream_id: uuid.UUID, limits: tuple[int, int]) -> None:
        super().__init__(table, None)
        self.stream_id = stream_id
        self.receiver = StreamReceiver(max_window=limits[0], max_chunk_size=limits[1])
        self.claimed = False
        self.since = trio.current_time()
        self._reading = False

    async def wait_open(self) -> None:
        """Block until the open frame arrived (``metadata`` and ``source`` are known) or the
        stream failed; raises ``StreamAborted`` then."""
        await self._settled.wait()
        self._raise_if_aborted()

    @property
    def opened(self) -> StreamOpen | None:
        return self.receiver.opened

    @property
    def source(self) -> str:
        return self.opened.peer if self.opened is not None else ""

    @property
    def metadata(self) -> dict[str, str]:
        """What the producer sent with the open (keys starting ``pywatt.`` are pywatt's own
        and left out)."""
        if self.opened is None:
            return {}
        return {k: v for k, v in self.opened.metadata.items() if not k.startswith("pywatt.")}

    def __aiter__(self) -> RemoteInbound:
        return self

    async def __anext__(self) -> bytes:
        if self._reading:
            raise trio.BusyResourceError("another task is already reading this stream")
        self._reading = True
        receiver = self.receiver
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                self._raise_if_aborted()
                chunk = receiver.next_chunk()
                if chunk is not None:
                    self._flush(receiver)
                    if receiver.state is StreamState.COMPLETE:
                        self.table.forget(self.stream_id, self)
                    return chunk
                if receiver.state is StreamState.COMPLETE:
                    self.table.forget(self.stream_id, self)
                    raise StopAsyncIteration
                await self.lot.park()
        except trio.Cancelled:
            self.abort("the consumer was cancelled")
            raise
        finally:
            self._reading = False

    async def read_all(self, max_size: int | None = None) -> bytes:
        """The whole body; aborts the stream (``too_large``) once it grows past ``max_size``."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self:
            size += len(chunk)
            if max_size is not None and size > max_size:
                detail = f"the body is over the consumer's limit of {max_size} bytes"
                self.abort(detail, StreamAbortReason.TOO_LARGE)
                self._raise_if_aborted()
            parts.append(chunk)
        return b"".join(parts)

    def abort(
        self, detail: str = "", reason: StreamAbortReason = StreamAbortReason.CANCELLED
    ) -> None:
        """Give up on the stream; the producer's ``send`` raises ``StreamAborted``."""
        if self.aborted is not None or self.receiver.state is StreamState.COMPLETE:
            return
        self.receiver.abort(AbortCode(reason.value), detail)
        if self.channel is not None:
            self._flush(self.receiver)
        self._fail(StreamAborted(reason, _CONSUMER, detail))
        self.table.forget(self.stream_id, self)

    async def aclose(self) -> None:
        """Abort the stream unless it was read to the end (``cancelled``)."""
        self.abort("the consumer closed the stream before its end")
        await trio.lowlevel.checkpoint()

    async def __aenter__(self) -> RemoteInbound:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def statistics(self) -> StreamStatistics:
        r = self.receiver
        return StreamStatistics(
            window=r.window,
            chunk_size=r.opened.chunk_size if r.opened is not None else 0,
            sent=r.received,
            sent_bytes=r.length,
            consumed=r.consumed,
            in_flight=r.buffered,
            max_in_flight=r.max_buffered,
            ended=r.state in (StreamState.ENDED, StreamState.COMPLETE),
            complete=r.state is StreamState.COMPLETE,
            aborted=self.aborted,
        )

    def on_frame(self, channel: str, frame: StreamFrame) -> None:
        """A frame from the producer: open, data, end or abort."""
        receiver = self.receiver
        if type(frame) is StreamData and receiver.state is StreamState.OPEN:
            # Most frames: a chunk of an open stream queues nothing and settles nothing.
            try:
                receiver.receive(frame)
            except StreamViolation as exc:
                self._violated(exc)
                return
            if self.lot:
                self.lot.unpark_all()
            return
        if self.channel is None:
            self.channel = channel
        try:
            receiver.receive(frame)
        except StreamViolation as exc:
            self._violated(exc)
            return
        self._flush(receiver)  # an open over our limits is refused at once
        if receiver.opened is not None:
            self._settled.set()
        if receiver.state is StreamState.ABORTED and receiver.abort_frame is not None:
            frame_ = receiver.abort_frame
            by = _PRODUCER if receiver.aborted_by_peer else _CONSUMER
            self._fail(_aborted(frame_, by))
            self.table.forget(self.stream_id, self)
            return
        if self.lot:  # someone waits (for credit, or for a chunk)
            self.lot.unpark_all()

    def _violated(self, exc: StreamViolation) -> None:
        self._flush(self.receiver)
        reason = StreamAbortReason(exc.code.value)
        self._fail(StreamAborted(reason, _PRODUCER, str(exc)))
        self.table.forget(self.stream_id, self)

    def lost(self, detail: str) -> None:
        """Our channel closed: nothing more will come."""
        if self.aborted is None and not self.receiver.finished:
            self.receiver.abort(AbortCode.STOPPED, detail)
            self.receiver.frames_to_send()
            self._fail(StreamAborted(StreamAbortReason.STOPPED, _PRODUCER, detail))


@attrs.define
class Answer:
    """Who waits for the answer to the request that announced outbound stream ``stream``."""

    request_id: uuid.UUID
    target: str
    endpoint: str
    stream: RemoteOutbound
    deliver: Callable[[outcome.Outcome[Any]], None]
    timeout: float
    deadline: float
    orphaned: bool = False
    """The ask of it died with a crashed router: only the reply (or the stream's failure,
    the deadline, the channel's loss) ends the wait now."""


class StreamTable:
    """The streams of one module, by id (see the module docstring). Plain data, kept with
    the router's name; every method but :meth:`write` is synchronous."""

    def __init__(
        self,
        *,
        max_window: int = MAX_WINDOW,
        max_chunk_size: int = DEFAULT_CHUNK_SIZE,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive, not {idle_timeout!r}")
        self.idle_timeout = idle_timeout
        self.writer: Writer | None = None
        """The channels actor's write capability, set by the router (it asks for it)."""
        self.renew: Callable[[], Awaitable[Writer]] | None = None
        """Asks the channels actor for its current writer (set by the router)."""
        self.kick: Callable[[], None] | None = None
        """Has the router ask for a new writer soon (set by the router); never raises."""
        self.backlog: list[tuple[str, bytes]] = []
        """Small frames (credit, open, end, abort) put while no valid writer was at hand
        (the channels actor restarted: its writer is revoked), in order: written by
        :meth:`renewed`. Without it a consumer's credit would be lost and its producer
        would wait for ever."""
        self.limits = (max_window, max_chunk_size)
        self.outbound: dict[uuid.UUID, RemoteOutbound] = {}
        self.inbound: dict[uuid.UUID, RemoteInbound] = {}
        self.ended: dict[uuid.UUID, RemoteInbound] = {}
        """Inbound streams that ended (aborted) before anyone claimed them: the claim that
        comes later gets the abort, not a placeholder that waits."""
        self.dropped = 0
        """Frames for no stream we know (after its end or an abort: ignored)."""
        self.on_open: Callable[[RemoteInbound], None] | None = None
        self.answers: dict[uuid.UUID, Answer] = {}
        """The announcing requests of our outbound streams whose answer is awaited: a
        restarted router hands their reply here (its crashed incarnation's asks failed)."""
        self.hosted: dict[object, TaskHandle] = {}
        """Lasting tasks (stream handlers, stream replies): they outlive a crash of the
        router and end when it stops for good (:meth:`end_hosted`)."""

    # -- what outlives the router's incarnation -------------------------------------------

    def host(self, ctx: ActorContext, fn: Callable[..., Awaitable[object]], *args: object) -> None:
        """Run ``fn(*args)`` as a lasting task of ``ctx`` (it outlives a crash of the router)."""
        key = object()

        async def run() -> None:
            try:
                await fn(*args)
            finally:
                self.hosted.pop(key, None)

        self.hosted[key] = ctx.start_lasting_task(run)

    def end_hosted(self) -> None:
        """The router stops for good: cancel its lasting tasks (their streams abort)."""
        for handle in list(self.hosted.values()):
            handle.cancel()
        self.hosted.clear()

    def await_answer(self, answer: Answer) -> None:
        self.answers[answer.request_id] = answer

    def orphan(self, request_id: uuid.UUID) -> bool:
        """The router that asked ``request_id`` crashed: keep waiting for its reply (the
        next incarnation hands it over). False if nobody waits for it any more."""
        answer = self.answers.get(request_id)
        if answer is None:
            return False
        answer.orphaned = True
        return True

    def take_answer(self, request_id: uuid.UUID) -> Answer | None:
        return self.answers.pop(request_id, None)

    # -- writing ---------------------------------------------------------------------------

    def pick(self) -> str:
        """The connection a new stream goes on. Raises :class:`StreamsUnsupported`."""
        picked = self.writer.stream_channel() if self.writer is not None else None
        if picked is None:
            raise StreamsUnsupported("no channel to the orchestrator is up")
        name, streams = picked
        if not streams:
            raise StreamsUnsupported(
                "the orchestrator does not carry streams (it did not declare MessagePack, "
                "docs/protocol-extensions.md §9.4)"
            )
        return name

    def supported(self) -> bool:
        """Whether the connection a new stream would go on carries streams."""
        picked = self.writer.stream_channel() if self.writer is not None else None
        return picked is not None and picked[1]

    def put(self, channel: str | None, frame: bytes) -> None:
        """Queue a small frame on ``channel`` (dropped if the channel is gone: its streams
        are aborted by :meth:`connection_lost`). Without a valid writer (the channels actor
        restarted) it waits in the :attr:`backlog` for the next one. Does not block."""
        if channel is None:
            return
        writer = self.writer
        if writer is not None and not writer.revoked and not self.backlog:
            writer.put_on(channel, frame)
            return
        if len(self.backlog) >= MAX_BACKLOG:  # no writer for a long while: the oldest go
            del self.backlog[: MAX_BACKLOG // 2]
        self.backlog.append((channel, frame))
        if len(self.backlog) == 1 and self.kick is not None:
            self.kick()

    def renewed(self, writer: Writer) -> None:
        """The channels actor's current writer: use it from now on, after writing the
        :attr:`backlog` with it, in order."""
        self.writer = writer
        backlog, self.backlog = self.backlog, []
        for channel, frame in backlog:
            writer.put_on(channel, frame)

    def offer(self, channel: str | None, frame: bytes) -> bool:
        """Queue a data frame on ``channel`` if its outbox has room now; False when the
        caller must :meth:`write` it (which waits, or drops it if the channel is gone).
        Does not block."""
        writer = self.writer
        return channel is not None and writer is not None and writer.offer_on(channel, frame)

    async def write(self, channel: str | None, frame: bytes) -> None:
        """Queue a data frame on ``channel``, waiting while its outbox is full. A channel
        that is gone drops it (the stream is aborted by :meth:`connection_lost`)."""
        while channel is not None:
            writer = self.writer
            if writer is None or writer.revoked:  # the channels actor restarted: ask anew
                if self.renew is None:
                    return
                try:
                    writer = await self.renew()  # (it calls renewed: the backlog first)
                except NoChannel:
                    return
                self.renewed(writer)
            try:
                await writer.write_on(channel, frame)
            except WriterRevoked:
                continue
            return

    # -- ends ------------------------------------------------------------------------------

    def open_outbound(
        self,
        target: str,
        endpoint: str,
        metadata: dict[str, str] | None = None,
        *,
        window: int = DEFAULT_WINDOW,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        channel: str | None = None,
    ) -> RemoteOutbound:
        """A new producer's end toward ``endpoint`` of module ``target``, its open frame
        sent. Raises :class:`StreamsUnsupported`, ``ValueError`` for a bad window or chunk
        size."""
        sender = StreamSender(endpoint, metadata=metadata, window=window, chunk_size=chunk_size)
        sender.metadata = dict(metadata or {})
        outbound = RemoteOutbound(self, channel or self.pick(), sender)
        self.outbound[sender.sid] = outbound
        # The relay reads the target from `peer` (StreamSender has no field for it).
        sender.open()
        opened = sender.frames_to_send()[0]
        assert isinstance(opened, StreamOpen)
        self.put(outbound.channel, _frame(_with_peer(opened, target)))
        return outbound

    def claim(self, stream_id: uuid.UUID) -> RemoteInbound:
        """The inbound stream ``stream_id``, for the one reader that waits for it; a
        placeholder if its open has not arrived yet. Raises ``LookupError`` if it was claimed
        already."""
        inbound = self.inbound.get(stream_id) or self.ended.pop(stream_id, None)
        if inbound is None:
            inbound = self.inbound[stream_id] = RemoteInbound(self, stream_id, self.limits)
        elif inbound.claimed:
            raise LookupError(f"stream {stream_id} is claimed already")
        inbound.claimed = True
        inbound.since = trio.current_time()
        return inbound

    def forget(self, stream_id: uuid.UUID, end: RemoteInbound | RemoteOutbound) -> None:
        if isinstance(end, RemoteOutbound):
            if self.outbound.get(stream_id) is end:
                del self.outbound[stream_id]
        elif self.inbound.get(stream_id) is end:
            del self.inbound[stream_id]
            if not end.claimed:
                end.since = trio.current_time()
                self.ended[stream_id] = end

    # -- frames in -------------------------------------------------------------------------

    def on_frame(self, channel: str, frame: StreamFrame) -> None:
        """Hand a frame that arrived on ``channel`` to its stream's end. Does not block."""
        sid = frame.stream_id
        if type(frame) is StreamData:  # most frames: a chunk for a consumer here
            inbound = self.inbound.get(sid)
            if inbound is not None:
                inbound.on_frame(channel, frame)
                return
        outbound = self.outbound.get(sid)
        if outbound is not None:
            outbound.on_frame(frame)
            return
        inbound = self.inbound.get(sid)
        if inbound is None:
            if not isinstance(frame, StreamOpen):
                self.dropped += 1
                return
            inbound = self.inbound[sid] = RemoteInbound(self, sid, self.limits)
        inbound.on_frame(channel, frame)

    def connection_lost(self, channel: str, reason: str) -> None:
        """Abort every stream that went over ``channel``."""
        detail = f"the channel {channel} to the orchestrator closed mid-stream ({reason})"
        for answer in [a for a in self.answers.values() if a.stream.channel == channel]:
            if answer.orphaned:
                del self.answers[answer.request_id]
                answer.deliver(outcome.Error(RequestInterrupted(
                    answer.target, answer.endpoint, answer.request_id, reason
                )))  # fmt: skip
        for out in [o for o in self.outbound.values() if o.channel == channel]:
            out.lost(detail)
            self.forget(out.stream_id, out)
        for inbound in [i for i in self.inbound.values() if i.channel == channel]:
            inbound.lost(detail)
            self.forget(inbound.stream_id, inbound)

    def _sweep_idle(self, now: float) -> None:
        """Abort, as ``idle``, the streams held by a consumer that takes nothing: chunks
        wait for it (or, producing, we wait for its credit) and nothing moved for
        :attr:`idle_timeout` seconds."""
        idle = self.idle_timeout
        for inbound in [i for i in self.inbound.values() if i.claimed and i.aborted is None]:
            r = inbound.receiver
            progress = (r.received, r.consumed)
            if _stands_still(inbound, progress, r.buffered > 0, now, idle):
                inbound.abort(
                    f"nobody took a chunk of the stream for {idle:g} s while chunks waited "
                    "(the idle timeout)",
                    StreamAbortReason.IDLE,
                )
        for out in [o for o in self.outbound.values() if o.sending]:
            s = out.sender
            if _stands_still(out, (s.sent, s.granted), s.credit < 1, now, idle):
                out.abort(
                    f"the consumer took no chunk of the stream for {idle:g} s (the idle timeout)",
                    StreamAbortReason.IDLE,
                )

    def sweep(self, now: float) -> None:
        """Abort the streams nobody claimed, and the claims never opened, after
        :data:`CLAIM_TIMEOUT` seconds."""
        for sid, ended in list(self.ended.items()):
            if now - ended.since >= CLAIM_TIMEOUT:
                del self.ended[sid]
        self._sweep_idle(now)
        for answer in [a for a in self.answers.values() if a.orphaned and a.deadline <= now]:
            del self.answers[answer.request_id]
            timeout = RequestTimeout(
                answer.target, answer.endpoint, answer.request_id, answer.timeout
            )
            answer.deliver(outcome.Error(timeout))
        for inbound in list(self.inbound.values()):
            if now - inbound.since < CLAIM_TIMEOUT:
                continue
            if not inbound.claimed:
                inbound.abort(
                    f"nobody in this module took the stream within {CLAIM_TIMEOUT:g} s",
                    StreamAbortReason.REFUSED,
                )
                self.forget(inbound.stream_id, inbound)
            elif inbound.opened is None:
                inbound._fail(
                    StreamAborted(
                        StreamAbortReason.STOPPED,
                        _PRODUCER,
                        f"the stream announced was not opened within {CLAIM_TIMEOUT:g} s",
                    )
                )
                self.forget(inbound.stream_id, inbound)


def _stands_still(end: _End, progress: object, waiting: bool, now: float, idle: float) -> bool:
    """Whether ``end`` made no ``progress`` for ``idle`` seconds while ``waiting``."""
    if progress != end.mark[0]:
        end.mark = (progress, now)
        return False
    return waiting and now - end.mark[1] >= idle


def _with_peer(frame: StreamOpen, peer: str) -> StreamOpen:
    return StreamOpen(
        stream_id=frame.stream_id,
        endpoint=frame.endpoint,
        metadata=frame.metadata,
        window=frame.window,
        chunk_size=frame.chunk_size,
        peer=peer,
    )
