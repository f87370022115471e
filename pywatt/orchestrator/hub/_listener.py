"""A module's own listeners: its TCP port and its Unix socket path (decision 3).

One :class:`ModuleListener` actor per module binds both when it starts (the same port and
path on every restart, so a reconnecting module finds them again) and serves every
connection accepted there as that module: TLS when the module's channel asks for it, the
auth token checked in the first frame when its security level asks for one (decision 8),
frames decoded and handed to the hub, heartbeats every interval with the round trip
measured, and a connection silent for three intervals closed. A malformed frame is refused
and counted and the connection goes on, unless it is one of ``MALFORMED_RUN_LIMIT`` in a row,
which closes it; they are logged in one line when the connection ends. A broken frame header
closes it (decision 5). A
``route_to_module`` in its canonical form is read by ``pywatt.channels.parse_route`` and
handed on as a ``RawRoute`` whose payload is forwarded without being decoded, and one in the
binary form (protocol extensions §5.1) as a ``BinaryRoute``; both are routed in the
listener's task when the hub lends its routing (``_direct``). Any other form is decoded by
``pywatt.wire``.

The socket file is created owner-only (0600) inside the orchestrator's private run
directory and removed when the listener stops. ``KillListener`` crashes the actor on
purpose: every connection accepted by it closes and the supervisor starts it again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import ssl
from typing import Final

import attrs
import trio

from actors import Actor
from pywatt.channels import RawRoute, parse_route
from pywatt.wire import (
    NEED_DATA,
    BinaryRoute,
    DecodeError,
    FrameDecoder,
    FrameFormat,
    Heartbeat,
    HeartbeatAck,
    ModuleDeclaration,
    RemoteProtocolError,
    SecurityLevel,
    parse_binary_route,
    stream_frame_head,
)

from ..console import Console
from ._connection import ServerConnection, decode_module_frame, encode_bare
from ._direct import DirectRoutes
from ._first_frame import FirstFrameRefused, admit_first_frame
from ._hub import HUB_NAME, Closed, DirectRouteFailed, FromConnection, Opened
from ._stream_relay import RelayedStreamFrame, StreamRelay

__all__ = [
    "ChannelSettings",
    "KillListener",
    "ListenerKilled",
    "ModuleEndpoints",
    "ModuleListener",
    "listener_name",
]

_RECEIVE: Final = 256 * 1024
UNIX_SEND_BUFFER: Final = 1 << 20
"""The kernel send buffer of a module's Unix-socket connection (``SO_SNDBUF``; Linux's
default is about 200 KiB): relayed stream chunks go out in a few writes, not one per chunk
and a wait for the module between them. Kernel memory, used only while bytes wait."""
_CHUNK: Final = 8
"""Frames handed to the hub before the reader lets the others run, so the first frames of a
burst are forwarded while the rest are still being read (8 rather than 4: fewer end-of-pass
writes per routed request at the same rate; see ``pywatt.channels._connection._CHUNK``)."""
_HANDSHAKE: Final = 10.0
_OP_FIRST: Final = b"\xa2op"
"""The bytes after the map header of a binary request or reply (its first key, ``"op"``)."""
_HEARTBEAT_FRAME: Final = encode_bare(Heartbeat())


def listener_name(module_id: str) -> str:
    return f"pywatt.listener.{module_id}"


@attrs.frozen
class ChannelSettings:
    """What every listener of one orchestrator shares."""

    heartbeat_interval: float
    socket_dir: str
    console: Console
    server_ssl: ssl.SSLContext | None = None
    relay: StreamRelay | None = None
    """The hub's stream relay: a frame of a stream the hub knows is forwarded by the
    listener that read it (``StreamRelay.forward_direct``), without a hand-off per chunk."""
    direct: DirectRoutes = attrs.Factory(DirectRoutes)
    """The hub's routing, lent to the listeners (``_direct``): requests and replies are
    routed by the listener that read them, without a hand-off per frame."""


@attrs.define
class ModuleEndpoints:
    """A module's channel endpoints, fixed for the orchestrator's lifetime."""

    module_id: str
    tcp: bool = True
    ipc: bool = True
    tls: bool = False
    security: SecurityLevel = SecurityLevel.TOKEN
    """``NONE`` only for a foreign module (``_wiring.module_endpoints``)."""
    required: bool = False
    tcp_port: int | None = None
    socket_path: str | None = None
    token: str = attrs.Factory(lambda: secrets.token_urlsafe(24))

    @property
    def tcp_address(self) -> str | None:
        return None if self.tcp_port is None else f"127.0.0.1:{self.tcp_port}"


@attrs.frozen
class KillListener:
    """Crash the listener on purpose (tests, fault drills): its connections close and it is
    restarted on the same port and path."""


class ListenerKilled(Exception):
    """Raised by a listener told :class:`KillListener`."""


class ModuleListener(Actor[KillListener]):
    """Registered as ``pywatt.listener.<module id>`` (see the module docstring)."""

    def __init__(self, endpoints: ModuleEndpoints, settings: ChannelSettings) -> None:
        self.endpoints = endpoints
        self.settings = settings
        self.console = settings.console
        self._listeners: list[trio.SocketListener] = []

    async def on_start(self) -> None:
        ep = self.endpoints
        if ep.tcp:
            sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            await sock.bind(("127.0.0.1", ep.tcp_port or 0))
            sock.listen(128)
            ep.tcp_port = int(sock.getsockname()[1])
            self._listeners.append(trio.SocketListener(sock))
            self.ctx.start_task(self._accept, self._listeners[-1], "tcp")
        if ep.ipc:
            path = ep.socket_path or os.path.join(self.settings.socket_dir, f"{ep.module_id}.sock")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            await sock.bind(path)
            os.chmod(path, 0o600)
            sock.listen(128)
            ep.socket_path = path
            self._listeners.append(trio.SocketListener(sock))
            self.ctx.start_task(self._accept, self._listeners[-1], "ipc")

    async def on_stop(self) -> None:
        for listener in self._listeners:
            await listener.aclose()
        self._listeners.clear()
        if self.endpoints.socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.endpoints.socket_path)

    async def receive(self, message: KillListener) -> None:
        raise ListenerKilled(f"listener of {self.endpoints.module_id} killed on request")

    # -- connections -----------------------------------------------------------------------

    async def _accept(self, listener: trio.SocketListener, kind: str) -> None:
        while True:
            stream = await listener.accept()
            if kind == "ipc":  # (TCP tunes its own buffers)
                stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SEND_BUFFER)
            if kind == "tcp" and self.endpoints.tls and self.settings.server_ssl is not None:
                tls = trio.SSLStream(stream, self.settings.server_ssl, server_side=True)
                self.ctx.start_task(self._serve, tls, kind)
            else:
                self.ctx.start_task(self._serve, stream, kind)

    async def _serve(self, stream: trio.abc.Stream, kind: str) -> None:
        ep, console = self.endpoints, self.console
        conn = ServerConnection(ep.module_id, kind, stream)
        hub = self.ctx.system.ref(HUB_NAME)
        opened = False
        try:
            if isinstance(stream, trio.SSLStream):
                try:
                    with trio.fail_after(_HANDSHAKE):
                        await stream.do_handshake()
                except (trio.BrokenResourceError, trio.TooSlowError) as exc:
                    console.warning(
                        f"refused a TLS connection for {ep.module_id}: the handshake failed "
                        f"({exc.__cause__ or exc})",
                        ep.module_id,
                    )
                    return
                if ep.security is SecurityLevel.MTLS and not stream.getpeercert():
                    console.warning(
                        f"refused a TLS connection for {ep.module_id}: Mtls needs a client "
                        "certificate and none was sent",
                        ep.module_id,
                    )
                    return
            with conn.cancel_scope:
                decoder = FrameDecoder()
                if ep.security is not SecurityLevel.NONE and not await self._authenticate(
                    conn, decoder
                ):
                    return
                self.settings.direct.told_hub()
                hub.tell_nowait(Opened(conn))
                opened = True
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(conn.write_loop)
                    nursery.start_soon(self._heartbeats, conn)
                    await self._read(conn, decoder)
                    conn.close(conn.close_reason or "closed")
        finally:
            conn.close(conn.close_reason or "listener stopped")
            report = conn.malformed_report()
            if report is not None:  # one line per connection, however many there were
                console.warning(report, ep.module_id)
            if opened:
                self.settings.direct.told_hub()
                hub.tell_nowait(Closed(conn))
            await trio.aclose_forcefully(stream)

    async def _receive(self, conn: ServerConnection) -> bytes:
        try:
            data = await conn.reader.receive_some(_RECEIVE)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            conn.close(f"read failed: {exc.__cause__ or exc}")
            return b""
        if not data:
            conn.close("the module closed the connection")
        return bytes(data)

    async def _authenticate(self, conn: ServerConnection, decoder: FrameDecoder) -> bool:
        """The first frame must carry the module's declaration with its auth token."""
        ep = self.endpoints
        problem = "no frame within 10 s"
        with trio.move_on_after(_HANDSHAKE):
            while True:
                try:
                    frame = decoder.next_frame()
                except RemoteProtocolError as exc:
                    problem = f"a broken first frame ({exc})"
                    break
                if frame is NEED_DATA:
                    data = await self._receive(conn)
                    if not data:
                        problem = "the connection closed before the first frame"
                        break
                    decoder.feed(data)
                    continue
                try:
                    conn.declaration = admit_first_frame(frame, ep.token)
                except FirstFrameRefused as refused:
                    problem = refused.problem
                    break
                conn.frames_in += 1
                conn.last_received = trio.current_time()
                return True
        self.console.warning(
            f"refused a {conn.kind} connection for {ep.module_id}: {problem}", ep.module_id
        )
        return False

    async def _read(self, conn: ServerConnection, decoder: FrameDecoder) -> None:
        hub = self.ctx.system.ref(HUB_NAME)
        console = self.console
        while not conn.closed:
            conn.last_received = trio.current_time()  # (once per read, not per frame)
            try:
                for handed, frame in enumerate(decoder.frames()):
                    if handed and handed % _CHUNK == 0:  # let the hub forward the first ones
                        await trio.lowlevel.checkpoint()
                    conn.frames_in += 1
                    if frame.format is FrameFormat.MSGPACK and conn.pywatt:
                        # A stream frame (protocol-extensions §9.4): relayed by its id, the
                        # payload forwarded as it is. A request or reply in the binary form
                        # (extensions §5.1) has "op" for its first key, a stream frame never:
                        # one look at the first bytes says which to try.
                        head = (
                            None
                            if frame.payload[1:4] == _OP_FIRST
                            else stream_frame_head(frame.payload)
                        )
                        if head is None:
                            binary = parse_binary_route(frame.payload)
                            if binary is not None:
                                conn.malformed_run = 0
                                await self._route(conn, binary)
                                continue
                            if conn.refuse_malformed(
                                f"{len(frame.payload)} bytes: a code-4 frame that is no "
                                "stream frame nor binary route in pywatt's form"
                            ):
                                return
                            continue
                        conn.malformed_run = 0
                        relayed = RelayedStreamFrame(head[0], head[1], bytes(frame.payload))
                        relay = self.settings.relay
                        if relay is not None:
                            if relay.forward_direct(conn, relayed):
                                continue
                            relay.queue(relayed)
                        self.settings.direct.told_hub()
                        await hub.tell(FromConnection(conn, relayed))
                        continue
                    if frame.format is FrameFormat.JSON:
                        # Inter-module traffic: a canonical route (its metadata empty, so
                        # never a declaration) is forwarded with its payload undecoded.
                        raw = parse_route(frame.payload)
                        if raw is not None:
                            conn.malformed_run = 0
                            await self._route(conn, raw)
                            continue
                    try:
                        message = decode_module_frame(frame)
                    except DecodeError as exc:
                        if conn.refuse_malformed(f"{len(frame.payload)} bytes: {exc}"):
                            return  # one too many in a row: closed, and reported by _serve
                        continue
                    conn.malformed_run = 0
                    if conn.frames_in == 1 and conn.declaration is None:
                        try:
                            conn.declaration = ModuleDeclaration.from_properties(
                                message.metadata.properties
                            )
                        except DecodeError as exc:
                            console.warning(f"{conn.label}: bad declaration: {exc}", conn.module_id)
                    content = message.content
                    if isinstance(content, HeartbeatAck):
                        conn.heartbeat_acks += 1
                        if conn.heartbeat_sent_at is not None:
                            conn.latency = trio.current_time() - conn.heartbeat_sent_at
                            conn.heartbeat_sent_at = None
                        continue
                    self.settings.direct.told_hub()
                    await hub.tell(FromConnection(conn, content))
            except RemoteProtocolError as exc:
                conn.close(f"unusable frame stream: {exc}")
                console.warning(f"{conn.label}: {exc}; connection closed", conn.module_id)
                return
            data = await self._receive(conn)
            if not data:
                return
            decoder.feed(data)

    async def _route(self, conn: ServerConnection, route: RawRoute | BinaryRoute) -> None:
        """Hand a request or reply to the hub's routing: in this task when the hub lends it
        (``_direct``), else through its mailbox."""
        direct = self.settings.direct
        try:
            if direct.forward(conn, route):
                return
        except Exception as exc:  # the hub's bug: it crashes with it, not this connection
            direct.failed()
            self.ctx.system.ref(HUB_NAME).tell_nowait(DirectRouteFailed(exc))
            return
        direct.told_hub()
        await self.ctx.system.ref(HUB_NAME).tell(FromConnection(conn, route))

    async def _heartbeats(self, conn: ServerConnection) -> None:
        interval = self.settings.heartbeat_interval
        while not conn.closed:
            await trio.sleep(interval)
            silent = trio.current_time() - conn.last_received
            if silent > 3 * interval:
                conn.close(f"silent for {silent:.2f} s (3 heartbeat intervals)")
                self.console.warning(
                    f"{conn.label} missed 3 heartbeats ({silent:.2f} s silent); closing it",
                    conn.module_id,
                )
                return
            conn.heartbeat_sent_at = trio.current_time()
            conn.heartbeats_sent += 1
            conn.send_nowait(_HEARTBEAT_FRAME)
