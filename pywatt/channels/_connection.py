"""The connection actor: one framed TCP or Unix-socket connection to the orchestrator.

One incarnation is one connection attempt and, if it succeeds, one connection. ``on_start``
starts the connect task and returns at once, so a failing attempt is a crash of the
incarnation and the connection's own supervisor applies the reconnect policy (restart delay
and restart limit; see ``_policy``). Read and write paths are independent (docs/protocol.md §16
A11): a reader task decodes frames and dispatches them, a writer task drains the outbox,
joining every frame queued since its last write into one ``send_all``. ``SendFrame``
messages only append to the :class:`~pywatt.channels.Outbox` (waiting for room above a
high-water mark, which is the back-pressure a sender feels), so a slow peer never blocks the
reader. While connected, the outbox is published on the connection's ``ChannelState``, so
the router appends its frames there directly instead of telling this actor.

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
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
import outcome
import trio

from actors import Actor, ActorRef
from pywatt.wire import (
    ChannelType,
    DecodeError,
    DiscoverServiceProvidersResponse,
    DiscoveryUpdate,
    Frame,
    FrameDecoder,
    Heartbeat,
    IpcHttpRequest,
    IpcHttpResponse,
    RegisterServiceProviderResponse,
    RemoteProtocolError,
    RoutedModuleMessage,
    RoutedModuleResponse,
    Shutdown,
    UnregisterServiceProviderResponse,
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
from ._outbox import Outbox

__all__ = [
    "ChannelConnection",
    "ChannelInbound",
    "CheckLiveness",
    "ConnectionLost",
    "Opener",
    "SendFrame",
    "open_channel_stream",
]

log = logging.getLogger("pywatt.channels")

ROUTER: Final = "pywatt.router"
DISCOVERY: Final = "pywatt.discovery"
REGISTRAR: Final = "pywatt.registrar"
_RECEIVE: Final = 65536
_CHUNK: Final = 4
"""Frames handed on before the reader lets the others run: replies to the first requests of a
burst leave while the rest are still being read (a pipeline, not one clump per burst)."""
_REGISTRATION_REPLIES: Final = RegistrationReply.__args__

Opener = Callable[[ChannelConfig], Awaitable[trio.abc.Stream]]


@attrs.frozen
class SendFrame:
    """Write one complete frame (the bytes of ``encode_frame``) on this connection."""

    data: bytes


@attrs.frozen
class CheckLiveness:
    """Internal timer tick: has the orchestrator been silent for three intervals?"""


@attrs.frozen
class ChannelInbound:
    """Told to the router, discovery or registrar actor: ``message`` arrived on ``channel``."""

    channel: str
    message: Any


@attrs.frozen
class ConnectionLost:
    """Told to the router when connection ``channel`` ends: requests it carried will get
    no reply through it."""

    channel: str
    reason: str


async def open_channel_stream(config: ChannelConfig) -> trio.abc.Stream:
    """Connect to the channel's address (TCP with TLS when configured, or the Unix socket).

    Blocks up to ``config.connect_timeout``. Raises ``OSError``, ``trio.TooSlowError`` or
    ``trio.BrokenResourceError`` (a refused TLS handshake, e.g. an untrusted certificate).
    """
    with trio.fail_after(config.connect_timeout):
        if config.kind is ChannelType.IPC:
            return await trio.open_unix_socket(config.address)
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

    def __init__(
        self,
        config: ChannelConfig,
        state: ChannelState,
        directory: ChannelDirectory,
        *,
        on_shutdown: Callable[[str], None] | None = None,
        opener: Opener | None = None,
        services: frozenset[str] = frozenset({ROUTER, DISCOVERY, REGISTRAR}),
    ) -> None:
        self.services = services
        self._service_refs: dict[str, ActorRef[Any]] = {}
        self.config = config
        self.state = state
        self.directory = directory
        self.on_shutdown = on_shutdown
        self.opener = opener or open_channel_stream
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
        self.outbox.close()  # no new frames: senders go to the next incarnation
        if self.state.outbox is self.outbox:
            self.state.outbox = None
        if stream is not None:
            if error is None and self._writing:  # a graceful stop still delivers the queue
                self._closing = True
                self.outbox.wake()
                with trio.move_on_after(1.0):
                    await self._writer_done.wait()
            await trio.aclose_forcefully(stream)
        if error is None or self.directory.closing:
            self.state.set_status(ConnectionStatus.CLOSED)
            reason = "closed"
        else:
            reason = f"{type(error).__name__}: {error}"
            self.state.set_status(ConnectionStatus.DISCONNECTED, reason)
            log.warning("channel %s lost: %s", self.name, reason)
        self.directory.notify()
        await self.ctx.system.tell(ROUTER, ConnectionLost(self.name, reason))

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
        from pywatt.http import HTTP_ACTOR, ServeHttp

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

        http = self.ctx.system.lookup(HTTP_ACTOR)
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
        self.state.set_status(ConnectionStatus.CONNECTED)
        self.directory.notify()
        log.info("channel %s connected to %s", self.name, config.address)
        if config.heartbeat_interval is not None:
            self.ctx.send_interval(config.heartbeat_interval, CheckLiveness())
        self.ctx.start_task(self._write_loop, stream)
        await self._read_loop(stream)

    async def _write_loop(self, stream: trio.abc.Stream) -> None:
        state = self.state
        outbox = self.outbox
        self._writing = True
        while True:
            if not outbox.frames:
                if self._closing:
                    self._writer_done.set()
                    return
                await outbox.wait_frames()
                continue
            batch = outbox.take()
            data = batch[0] if len(batch) == 1 else b"".join(batch)
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self._broken(f"write failed: {exc.__cause__ or exc}") from exc
            state.frames_out += len(batch)
            state.bytes_out += len(data)

    async def _read_loop(self, stream: trio.abc.Stream) -> None:
        decoder = FrameDecoder(self.config.max_frame_size)
        while True:
            try:
                data = await stream.receive_some(_RECEIVE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise self._broken(f"read failed: {exc.__cause__ or exc}") from exc
            if not data:
                try:
                    decoder.at_eof()
                except RemoteProtocolError as exc:
                    raise self._broken(f"closed mid-frame: {exc}", ChannelProtocolError) from exc
                raise self._broken("the orchestrator closed the connection")
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

    async def _forward(self, name: str, message: object) -> None:
        """Hand ``message`` to the service ``name``. The connection may be up before the
        services have started: it waits for an expected one (back-pressure on the socket)
        and drops, with a log line, what no service of this module takes."""
        ref = self._service_refs.get(name)
        if ref is None:
            if name not in self.services:
                log.info("channel %s dropped %r: %s is not running", self.name, message, name)
                return
            ref = self._service_refs[name] = await self.ctx.system.wait_for(name)
        await ref.tell(ChannelInbound(self.name, message))

    async def _on_frame(self, frame: Frame) -> None:
        state = self.state
        state.frames_in += 1
        now = trio.current_time()
        state.last_received = now
        try:
            message = decode_inbound(frame)
        except DecodeError as exc:
            state.malformed += 1
            log.warning(
                "channel %s refused a malformed frame (%d bytes, %d so far): %s",
                self.name,
                len(frame.payload),
                state.malformed,
                exc,
            )
            return
        if isinstance(message, Heartbeat):
            state.heartbeats += 1
            if state.last_heartbeat is not None:
                state.heartbeat_gap = now - state.last_heartbeat
            state.last_heartbeat = now
            self.outbox.put(heartbeat_ack_frame())
        elif isinstance(message, RoutedModuleMessage | RoutedModuleResponse):
            await self._forward(ROUTER, message)
        elif isinstance(
            message,
            DiscoveryUpdate
            | RegisterServiceProviderResponse
            | DiscoverServiceProvidersResponse
            | UnregisterServiceProviderResponse,
        ):
            await self._forward(DISCOVERY, message)
        elif isinstance(message, _REGISTRATION_REPLIES):
            await self._forward(REGISTRAR, message)
        elif isinstance(message, Shutdown):
            log.info("channel %s: the orchestrator asked the module to shut down", self.name)
            if self.on_shutdown is not None:
                self.on_shutdown(f"the orchestrator sent shutdown on channel {self.name}")
        elif isinstance(message, IpcHttpRequest):
            self._serve_http(message)
        else:
            log.info("channel %s ignored %s (not handled on channels)", self.name, message)
