"""The connection actor: one framed TCP or Unix-socket connection to the orchestrator.

One incarnation is one connection attempt and, if it succeeds, one connection. ``on_start``
starts the connect task and returns at once, so a failing attempt is a crash of the
incarnation and the connection's own supervisor applies the reconnect policy (restart delay
and restart limit; see ``_policy``). Read and write paths are independent (docs/protocol.md §16
A11): a reader task decodes frames and dispatches them, a writer task drains the outbox,
writing every frame queued since its last write with one ``sendmsg`` (``send_buffers``:
no copy to join them; TLS joins them). ``SendFrame``
messages only append to the :class:`~pywatt.channels.Outbox` (waiting for room above a
high-water mark, which is the back-pressure a sender feels), so a slow peer never blocks the
reader. While connected, the outbox is published on the connection's ``ChannelState``, so
the channels actor's :class:`~pywatt.channels.Writer` (the router's path) appends frames
there directly instead of telling this actor. Inbound messages go to the actor subscribed
to their type (:class:`~pywatt.channels.Subscriptions`, kept with the channels actor's
name), except stream frames when a :data:`StreamSink` is given (the module's stream table):
the reader hands each to it at once, in order, without a message per chunk; likewise replies
to this module's requests when a :data:`ReplySink` is given (the router's reply handler).

Limits (docs/architecture.md, decision 5): a frame whose payload does not decode is refused,
counted (``malformed``) and logged, and the connection goes on; a broken length prefix or
an oversized frame crashes the incarnation, which closes the socket, and the supervisor
reconnects. Heartbeats are answered on this connection; when the orchestrator declared an
interval, three intervals without a frame mark it dead (:class:`PeerSilent`) and the
connection is re-made.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeAlias

import attrs
import outcome
import trio

from actors import Actor, ActorRef
from pywatt.observe import ChannelChanged
from pywatt.wire import (
    ChannelType,
    DecodeError,
    Frame,
    FrameDecoder,
    Heartbeat,
    IpcHttpRequest,
    IpcHttpResponse,
    RemoteProtocolError,
    RoutedModuleMessage,
    RoutedModuleResponse,
    Shutdown,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamFrame,
    StreamOpen,
)

from ._config import ChannelConfig
from ._directory import ChannelDirectory, ChannelState, ConnectionStatus
from ._errors import ChannelBroken, ChannelProtocolError, PeerSilent
from ._frames import (
    RegistrationReply,
    declaration_frame,
    decode_inbound,
    encode_module_frame,
    heartbeat_ack_frame,
)
from ._messages import ChannelInbound, ConnectionLost, SendFrame
from ._outbox import Outbox
from ._receive import SocketReader
from ._send_buffers import send_buffers, write_now
from ._serve_http import HTTP_SUBSCRIPTION, ServeHttp
from ._subscriptions import Subscriptions

__all__ = [
    "ChannelConnection",
    "ChannelInbound",
    "CheckLiveness",
    "ConnectionLost",
    "Opener",
    "ReplySink",
    "SendFrame",
    "StreamSink",
    "open_channel_stream",
]

log = logging.getLogger("pywatt.channels")

_RECEIVE: Final = 256 * 1024
UNIX_SEND_BUFFER: Final = 1 << 20
"""The kernel send buffer of a Unix-socket channel (``SO_SNDBUF``; Linux's default is about
200 KiB): a stream's window of 64 KiB chunks is written in a few calls, not one per chunk and
a wait for the reader between them (benchmarks/streams.py). Kernel memory, used only while
bytes wait for the reader."""
_CHUNK: Final = 8
"""Frames handed on before the reader lets the others run: replies to the first requests of a
burst leave while the rest are still being read (a pipeline, not one clump per burst). Each
yield ends a scheduler pass, and so costs an end-of-pass write: 8 measured less CPU per routed
request than 4 at the same rate; 12 and more clump a burst and the rate falls."""
_REGISTRATION_REPLIES: Final = RegistrationReply.__args__

Opener = Callable[[ChannelConfig], Awaitable[trio.abc.Stream]]
StreamSink: TypeAlias = Callable[[str, StreamFrame], None]
"""Takes a stream frame and the name of the connection it came on, at once (the module's
stream table, ``pywatt.router.StreamTable.on_frame``). It must not block."""
ReplySink: TypeAlias = Callable[[str, RoutedModuleResponse | RoutedModuleMessage], bool]
"""Takes a reply to one of this module's requests, or a request to it, and the name of the
connection it came on, at once (the router's, ``pywatt.router.DirectReplies.on_reply``);
False when it did not (no router runs, or a request it leaves to its mailbox): the frame then
goes to its subscriber as a message. It must not block."""
_STREAM_FRAMES: Final = (StreamData, StreamCredit, StreamOpen, StreamEnd, StreamAbort)


@attrs.frozen
class CheckLiveness:
    """Internal timer tick: has the orchestrator been silent for three intervals?"""


async def open_channel_stream(config: ChannelConfig) -> trio.abc.Stream:
    """Connect to the channel's address (TCP with TLS when configured, or the Unix socket).

    Blocks up to ``config.connect_timeout``. Raises ``OSError``, ``trio.TooSlowError`` or
    ``trio.BrokenResourceError`` (a refused TLS handshake, e.g. an untrusted certificate).
    """
    with trio.fail_after(config.connect_timeout):
        if config.kind is ChannelType.IPC:
            unix = await trio.open_unix_socket(config.address)
            unix.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SEND_BUFFER)
            return unix
        host, port = config.host_port()
        stream = await trio.open_tcp_stream(host, port)
        if config.tls is None:
            return stream
        context = config.tls.client_context()
        hostname = config.tls.server_hostname or host
        tls_stream = trio.SSLStream(stream, context, server_hostname=hostname)
        try:
            await tls_stream.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(tls_stream)
            raise
        return tls_stream


class ChannelConnection(Actor[SendFrame | CheckLiveness]):
    """One connection of a channel; see the module docstring."""

    loss_level = logging.WARNING
    """How loudly a lost connection is logged."""

    def __init__(
        self,
        config: ChannelConfig,
        state: ChannelState,
        directory: ChannelDirectory,
        *,
        subscriptions: Subscriptions | None = None,
        opener: Opener | None = None,
        stream_sink: StreamSink | None = None,
        reply_sink: ReplySink | None = None,
    ) -> None:
        self.subscriptions = (
            subscriptions if subscriptions is not None else Subscriptions(HTTP_SUBSCRIPTION)
        )
        self._service_refs: dict[str, ActorRef[Any]] = {}
        self.config = config
        self.state = state
        self.directory = directory
        self.opener = opener or open_channel_stream
        self.stream_sink = stream_sink
        self.reply_sink = reply_sink
        self.stream: trio.abc.Stream | None = None
        self.outbox = Outbox()
        self._error: BaseException | None = None
        self._closing = False
        self._writing = False
        self._writer_done = trio.Event()

    @property
    def name(self) -> str:
        return self.state.name

    # -- lifecycle -------------------------------------------------------------------------

    async def on_start(self) -> None:
        self.state.set_status(ConnectionStatus.CONNECTING)
        self.directory.notify()
        self.ctx.start_task(self._run)

    async def on_stop(self) -> None:
        error = self._error or self.ctx.failure
        stream, self.stream = self.stream, None
        self.outbox.close()  # no new frames (nor direct writes): senders go to the next one
        if self.state.outbox is self.outbox:
            self.state.outbox = None
        if stream is not None:
            if error is None and self._writing:  # a graceful stop still delivers the queue
                self._closing = True
                self.outbox.wake()
                with trio.move_on_after(1.0):
                    await self._writer_done.wait()
            await trio.aclose_forcefully(stream)
        if error is None:
            self.state.set_status(ConnectionStatus.CLOSED)
            reason = "closed"
        else:
            reason = f"{type(error).__name__}: {error}"
            self.state.set_status(ConnectionStatus.DISCONNECTED, reason)
            log.log(self.loss_level, "channel %s lost: %s", self.name, reason)
        if stream is not None:  # it was connected: say that it no longer is
            lost = reason != "closed"
            self.ctx.system.events.emit(
                ChannelChanged(self.name, "lost" if lost else "closed", reason if lost else None)
            )
        self.directory.notify()
        target = self.subscriptions.target_of(ConnectionLost)
        if target is not None:
            await self.ctx.system.tell(target, self._lost(reason))

    def _lost(self, reason: str) -> ConnectionLost:
        """What the subscriber of ``ConnectionLost`` is told when this connection ends."""
        return ConnectionLost(self.name, reason)

    # -- messages --------------------------------------------------------------------------

    async def receive(self, message: SendFrame | CheckLiveness) -> None:
        if isinstance(message, SendFrame):
            await self.outbox.wait_room()
            self.outbox.put(message.data)
            return
        interval = self.config.heartbeat_interval
        last = self.state.last_received
        if interval is None or last is None or self.stream is None:
            return
        silent = trio.current_time() - last
        if silent > 3 * interval:
            self._error = PeerSilent(
                self.name,
                self.config.address,
                f"nothing received for {silent:.2f} s (3 heartbeat intervals of {interval:g} s)",
            )
            raise self._error

    def _serve_http(self, request: IpcHttpRequest) -> None:
        """HTTP over a channel (§9.3): through the module's app when it serves one (the
        answer goes back Message-wrapped on this connection), else a clear 503 — never the
        Rust SDK's canned stub. The read loop does not wait for the app."""

        def respond(status: int, message: str) -> None:
            body = json.dumps({"status": "error", "data": None, "message": message}).encode()
            self.outbox.put(
                encode_module_frame(
                    IpcHttpResponse(
                        request_id=request.request_id,
                        status_code=status,
                        headers={"content-type": "application/json"},
                        body=body,
                    )
                )
            )

        name = self.subscriptions.target(request)
        http = self.ctx.system.lookup(name) if name is not None else None
        if http is None:
            respond(503, "this module serves no HTTP app")
            return

        def answered(result: outcome.Outcome[IpcHttpResponse]) -> None:
            if isinstance(result, outcome.Value):
                self.outbox.put(encode_module_frame(result.value))
            else:
                respond(502, "the module's HTTP server failed to answer")

        http.ask_nowait(ServeHttp(request), answered)

    # -- the connection --------------------------------------------------------------------

    def _broken(self, reason: str, cls: type[ChannelBroken] = ChannelBroken) -> ChannelBroken:
        return cls(self.name, self.config.address, reason)

    async def _run(self) -> None:
        config = self.config
        try:
            stream = await self.opener(config)
        except trio.TooSlowError:
            raise self._broken(
                f"cannot connect: no connection within {config.connect_timeout:g} s"
            ) from None
        except (OSError, ssl.SSLError, trio.BrokenResourceError) as exc:
            cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
            raise self._broken(f"cannot connect: {cause or exc}") from exc
        self.stream = stream
        if config.declaration is not None:  # the first frame, ahead of anything queued
            self.outbox.push_front(declaration_frame(config.declaration))
        now = trio.current_time()
        self.state.last_received = now
        self.state.outbox = self.outbox
        declared = config.declaration
        self.state.streams = declared is not None and "msgpack" in declared.formats
        self.state.set_status(ConnectionStatus.CONNECTED)
        self.directory.notify()
        log.info("channel %s connected to %s", self.name, config.address)
        self.ctx.system.events.emit(ChannelChanged(self.name, "open"))
        if config.heartbeat_interval is not None:
            self.ctx.send_interval(config.heartbeat_interval, CheckLiveness())
        self.ctx.start_task(self._write_loop, stream)
        await self._before_reading()
        await self._read_loop(stream)

    async def _before_reading(self) -> None:
        """Runs once connected, before the first read (a line waits for its fence here)."""

    def _write_now(self, frames: list[bytes]) -> int:
        """The outbox's end-of-pass write of what was queued in the pass (see ``Outbox``)."""
        stream = self.stream
        if stream is None:
            return 0
        written = write_now(stream, frames)
        state = self.state
        state.bytes_out += written
        left = written
        for frame in frames:  # the frames that went out whole
            left -= len(frame)
            if left < 0:
                break
            state.frames_out += 1
        return written

    async def _write_loop(self, stream: trio.abc.Stream) -> None:
        state = self.state
        outbox = self.outbox
        self._writing = True
        if isinstance(stream, trio.SocketStream) and not outbox.closed:
            outbox.direct = self._write_now
        while True:
            if not outbox.frames:
                if self._closing:
                    self._writer_done.set()
                    return
                await outbox.wait_frames()
                continue
            batch = outbox.take()
            outbox.writing = True
            try:
                await send_buffers(stream, batch)  # a batch of stream chunks is not joined
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self._broken(f"write failed: {exc.__cause__ or exc}") from exc
            finally:
                outbox.writing = False
            state.frames_out += len(batch)
            state.bytes_out += sum(map(len, batch))

    async def _read_loop(self, stream: trio.abc.Stream) -> None:
        decoder = FrameDecoder(self.config.max_frame_size)
        reader = SocketReader(stream)
        while True:
            try:
                data = await reader.receive_some(_RECEIVE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self._broken(f"read failed: {exc.__cause__ or exc}") from exc
            if not data:
                try:
                    decoder.at_eof()
                except RemoteProtocolError as exc:
                    raise self._broken(f"closed mid-frame: {exc}", ChannelProtocolError) from exc
                raise self._broken(f"{self.peer} closed the connection")
            self.state.bytes_in += len(data)
            decoder.feed(data)
            try:
                for handed, frame in enumerate(decoder.frames(), 1):
                    await self._on_frame(frame)
                    if handed % _CHUNK == 0:
                        await trio.lowlevel.checkpoint()
            except RemoteProtocolError as exc:
                raise self._broken(
                    f"unusable frame stream, closing: {exc}", ChannelProtocolError
                ) from exc

    async def _forward(self, message: object) -> None:
        """Hand ``message`` to its subscriber (see :class:`Subscriptions`). The connection may
        be up before the subscriber has started: it waits for it (back-pressure on the
        socket) and drops, with a log line, what nobody subscribed to."""
        name = self.subscriptions.target(message)
        if name is None:
            log.info("channel %s dropped %r: no actor of this module takes it", self.name, message)
            return
        ref = self._service_refs.get(name)
        if ref is None:
            ref = self._service_refs[name] = await self.ctx.system.wait_for(name)
        await ref.tell(ChannelInbound(self.name, message))

    @property
    def peer(self) -> str:
        """Who is at the other end (for log lines)."""
        return "the orchestrator"

    def _malformed(self, size: int, error: DecodeError) -> None:
        """A frame that did not decode was refused (counted already): say so."""
        log.warning(
            "channel %s refused a malformed frame (%d bytes, %d so far): %s",
            self.name,
            size,
            self.state.malformed,
            error,
        )

    def _decode(self, frame: Frame) -> Any:
        """The message a frame carries (an orchestrator's). Raises ``DecodeError``."""
        return decode_inbound(frame)

    async def _on_frame(self, frame: Frame) -> None:
        state = self.state
        state.frames_in += 1
        now = trio.current_time()
        state.last_received = now
        try:
            message = self._decode(frame)
        except DecodeError as exc:
            state.malformed += 1
            self._malformed(len(frame.payload), exc)
            return
        sink = self.stream_sink
        if sink is not None and isinstance(message, _STREAM_FRAMES):
            sink(self.name, message)  # no hop through the router's mailbox per chunk
            return
        replies = self.reply_sink
        if (
            replies is not None
            and (type(message) is RoutedModuleResponse or type(message) is RoutedModuleMessage)
            and replies(self.name, message)
        ):
            return  # answered (or served) now, not after a hop through the router
        if isinstance(message, Heartbeat):
            state.heartbeats += 1
            if state.last_heartbeat is not None:
                state.heartbeat_gap = now - state.last_heartbeat
            state.last_heartbeat = now
            self.outbox.put(heartbeat_ack_frame())
        elif isinstance(message, IpcHttpRequest):
            self._serve_http(message)
        else:
            if isinstance(message, Shutdown):
                log.info("channel %s: the orchestrator asked the module to shut down", self.name)
            await self._forward(message)
