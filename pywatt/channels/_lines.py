"""The lines actor: direct lines between this module and other pywatt modules
(docs/protocol-extensions.md §12).

Under a pywatt orchestrator that offers them (``PYWATT_LINES``), a module's requests and
notifications to another pywatt module stop going through the orchestrator once a line
between the two is up: half the hops, and the orchestrator out of the way of the traffic.
Registered as ``pywatt.channels.lines`` under ``pywatt.channels``; it:

* listens on the module's line socket (next to its channel socket, the file 0600) and
  accepts a line only from a peer that proves, in its first frame, the ticket the
  orchestrator gave this module for it (``line_expect``); each ticket is good once, for
  :data:`TICKET_LIFETIME` seconds; a peer that sends anything else, or nothing within
  :data:`HANDSHAKE_TIMEOUT`, is closed with one log line;
* when the router talks to a module with no line yet (``Writer.line``), asks the
  orchestrator for one (``line_request``), at most every :data:`REFUSED_QUIET` seconds per
  target after a refusal; on a grant it connects, proves the ticket, checks the target's
  proof, starts the line's connection actor and then, **before** the line carries anything,
  sends a fence to the target through the orchestrator (a notification to endpoint
  ``pywatt.line`` naming the line): the target reads the line only after the fence, so what
  this module sent the target through the orchestrator before is handled first;
* hands the fence, when the router reads one from a peer, to that peer's line
  (:class:`LineFence`).

What it was told (tickets, the lines waiting for their fence, when to ask again) is kept in
a :class:`LineBook` with its name, and the lines themselves are actors of their own: a crash
of this actor loses no line and no ticket; its next incarnation listens again.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
from typing import Any, Final

import attrs
import trio

from actors import Actor, ActorError, NoSuchActor, Restart
from pywatt.wire import (
    LINE_NONCE_SIZE,
    ChannelType,
    EncodeError,
    FrameDecoder,
    FrameFormat,
    LineExpect,
    LineGrant,
    LineRefused,
    LineRequest,
    RemoteProtocolError,
    line_accept_frame,
    line_hello_frame,
    line_proof,
    parse_line_accept,
    parse_line_hello,
    same_proof,
)

from ._config import ChannelConfig
from ._connection import UNIX_SEND_BUFFER, ReplySink
from ._directory import ChannelDirectory, ChannelState, ConnectionStatus
from ._frames import encode_module_frame
from ._line_connection import Line, LineConnection
from ._messages import ChannelInbound, LineReady
from ._subscriptions import Subscriptions

__all__ = [
    "LINES_ACTOR",
    "LineBook",
    "LineSettings",
    "LinesActor",
    "declare_lines",
    "line_settings",
    "line_socket_path",
]

log = logging.getLogger("pywatt.channels")

LINES_ACTOR: Final = "pywatt.channels.lines"
HANDSHAKE_TIMEOUT: Final = 5.0
"""Seconds for a line's handshake, either way (a ticket may arrive meanwhile)."""
TICKET_LIFETIME: Final = 30.0
"""Seconds a ticket from the orchestrator stays good (each is used once)."""
REFUSED_QUIET: Final = 5.0
"""Seconds before asking again for a line that was refused or could not be opened."""
LOST_QUIET: Final = 0.5
"""Seconds before asking again for a line that closed."""
PENDING_QUIET: Final = 30.0
"""Seconds before asking again when the orchestrator has not answered."""
SWEEP_EVERY: Final = 30.0
"""Seconds between two sweeps of expired tickets and refusals (memory only: each is checked
against the clock when used)."""
MAX_HANDSHAKES: Final = 64
"""Handshakes at once; a connection past them is closed at once."""
TICKETS_PER_PEER: Final = 4
"""Tickets kept per peer (the oldest go first): a module that keeps asking for lines to this
one holds at most this many."""
_MAX_HANDSHAKE_FRAME: Final = 4096
_SOCKET_PATH_MAX: Final = 107  # sun_path holds 108 bytes, the last a NUL


def line_socket_path(channel_path: str) -> str | None:
    """The path of a module's line socket, next to its channel socket ``channel_path``
    (``<dir>/<id>.sock`` → ``<dir>/<id>.line.sock``); None when it would be too long."""
    stem = channel_path[:-5] if channel_path.endswith(".sock") else channel_path
    path = f"{stem}.line.sock"
    return path if len(os.fsencode(path)) <= _SOCKET_PATH_MAX else None


@attrs.frozen
class LineSettings:
    """A module's lines: its id, its line socket, and the channel whose limits lines keep."""

    module_id: str
    path: str
    channel: ChannelConfig


def line_settings(
    configs: list[ChannelConfig], *, offered: bool, module_id: str
) -> LineSettings | None:
    """The module's lines when the orchestrator ``offered`` them: over its first Unix-socket
    channel to a pywatt orchestrator that reads MessagePack and gave it a token (a line's
    ticket is only as good as the channel it came on); None otherwise."""
    if not offered:
        return None
    for config in configs:
        declared = config.declaration
        if (
            config.kind is ChannelType.IPC
            and declared is not None
            and declared.auth_token is not None
            and "msgpack" in declared.formats
        ):
            path = line_socket_path(config.address)
            if path is None:
                log.info("no direct lines: the line socket's path would be too long")
                return None
            return LineSettings(module_id, path, config)
    return None


def declare_lines(configs: list[ChannelConfig], settings: LineSettings) -> list[ChannelConfig]:
    """``configs`` whose declarations name the line socket (so the orchestrator grants
    lines to this module)."""
    return [
        attrs.evolve(c, declaration=attrs.evolve(c.declaration, line=settings.path))
        if c.declaration is not None
        else c
        for c in configs
    ]


@attrs.define(eq=False)
class LineBook:
    """What the lines actor was told, kept with its name (see the module docstring)."""

    expected: dict[str, list[tuple[str, float]]] = attrs.Factory(dict)
    """Per peer, the tickets the orchestrator granted it to this module, with their expiry."""
    arrived: trio.Event = attrs.Factory(trio.Event)
    """Set (and replaced) whenever a ticket arrives: handshakes waiting for one look again."""
    quiet: dict[str, float] = attrs.Factory(dict)
    """Per target, when this module may next ask for a line to it."""
    gates: dict[tuple[str, str], trio.Event] = attrs.Factory(dict)
    """Lines from other modules waiting for (or past) their fence, by (peer, nonce)."""
    numbers: itertools.count[int] = attrs.Factory(itertools.count)
    handshakes: int = 0
    listening: bool = False
    """The line socket is bound (a module that cannot bind it still opens lines to others)."""

    def open_gate(self, peer: str, nonce: str) -> None:
        """``peer``'s fence for line ``nonce`` came (the router read it): the line may be
        read. Does not block."""
        gate = self.gates.get((peer, nonce))
        if gate is not None:
            gate.set()


@attrs.frozen
class _WantLine:
    target: str


@attrs.frozen
class _Sweep:
    pass


class _Refused(Exception):
    """A line's handshake failed; the message says why (for one log line)."""


LinesMessage = ChannelInbound | _WantLine | _Sweep


class LinesActor(Actor[LinesMessage]):
    """Registered as ``pywatt.channels.lines`` (see the module docstring)."""

    def __init__(
        self,
        settings: LineSettings,
        directory: ChannelDirectory,
        book: LineBook,
        subscriptions: Subscriptions,
        reply_sink: ReplySink | None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.book = book
        self.subscriptions = subscriptions
        self.reply_sink = reply_sink

    async def on_start(self) -> None:
        # A grant an earlier incarnation waited for, or was dialling, died with it: ask again.
        self.book.quiet.clear()
        self.directory.want_line = self._want
        self.ctx.send_interval(SWEEP_EVERY, _Sweep())
        try:
            sock = await self._bind()
        except OSError as exc:
            if self.book.listening or self.ctx.incarnation == 1:  # said once, not per restart
                log.warning(
                    "cannot listen for direct lines at %s (%s): requests from other modules "
                    "come through the orchestrator",
                    self.settings.path,
                    exc,
                )
            self.book.listening = False
            return
        self.book.listening = True
        self.ctx.start_task(self._listen, sock)

    async def on_stop(self) -> None:
        if self.directory.want_line == self._want:
            self.directory.want_line = None

    def _want(self, target: str) -> None:
        """``Writer.line`` found no line to ``target``: ask for one unless asked lately."""
        book = self.book
        until = book.quiet.get(target)
        now = trio.current_time()
        if until is not None and until > now:
            return
        book.quiet[target] = now + PENDING_QUIET
        with contextlib.suppress(Exception):  # a full mailbox: the next send asks again
            self.ctx.self_ref.tell_nowait(_WantLine(target))

    async def receive(self, message: LinesMessage) -> None:
        book = self.book
        if isinstance(message, _WantLine):
            self._ask(message.target)
        elif isinstance(message, _Sweep):
            now = trio.current_time()
            for target, when in list(book.quiet.items()):
                if when <= now:
                    del book.quiet[target]
            for peer, tickets in list(book.expected.items()):
                tickets[:] = [t for t in tickets if t[1] > now]
                if not tickets:
                    del book.expected[peer]
        else:
            self._inbound(message.message)

    def _inbound(self, message: Any) -> None:
        book = self.book
        now = trio.current_time()
        if isinstance(message, LineGrant):
            self.ctx.start_task(self._dial, message)
        elif isinstance(message, LineRefused):
            book.quiet[message.target_module_id] = now + REFUSED_QUIET
            log.debug("no direct line to %s: %s", message.target_module_id, message.reason)
        elif isinstance(message, LineExpect):
            tickets = book.expected.setdefault(message.source_module_id, [])
            tickets.append((message.ticket, now + TICKET_LIFETIME))
            del tickets[:-TICKETS_PER_PEER]
            book.arrived.set()
            book.arrived = trio.Event()

    def _ask(self, target: str) -> None:
        state = self.directory.pick()
        outbox = state.outbox if state is not None else None
        if outbox is None or outbox.closed:
            self.book.quiet[target] = trio.current_time() + LOST_QUIET
            return
        try:
            outbox.put(encode_module_frame(LineRequest(target_module_id=target)))
        except EncodeError:  # an id over the frame limit: no module has it
            self.book.quiet[target] = trio.current_time() + REFUSED_QUIET

    # -- the line socket -------------------------------------------------------------------

    async def _bind(self) -> trio.socket.SocketType:
        path = self.settings.path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a socket left by an earlier process or incarnation
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            await sock.bind(path)
            os.chmod(path, 0o600)
            sock.listen(64)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _listen(self, sock: trio.socket.SocketType) -> None:
        listener = trio.SocketListener(sock)
        async with listener:
            while True:
                stream = await listener.accept()
                if self.book.handshakes >= MAX_HANDSHAKES:
                    await trio.aclose_forcefully(stream)
                    continue
                self.ctx.start_task(self._accept, stream)

    async def _accept(self, stream: trio.SocketStream) -> None:
        book = self.book
        book.handshakes += 1
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                parsed = parse_line_hello(await _first_frame(stream))
                if parsed is None:
                    raise _Refused("its first frame is not a line hello")
                source, nonce, proof = parsed
                ticket = await self._ticket(source, nonce, proof)
                line = Line(source, nonce.hex(), outgoing=False, stream=stream)
                key = (source, line.nonce)
                book.gates[key] = line.gate  # before the peer can fence
                try:
                    await stream.send_all(line_accept_frame(line_proof(ticket, nonce, accept=True)))
                except BaseException:
                    book.gates.pop(key, None)
                    raise
        except (_Refused, trio.TooSlowError, trio.BrokenResourceError, OSError) as exc:
            why = "no proven ticket within 5 s" if isinstance(exc, trio.TooSlowError) else exc
            log.info("refused a connection to the line socket of %s: %s",
                     self.settings.module_id, why)  # fmt: skip
            await trio.aclose_forcefully(stream)
            return
        finally:
            book.handshakes -= 1
        if await self._start(line) is None:
            book.gates.pop((line.peer, line.nonce), None)

    async def _ticket(self, source: str, nonce: bytes, proof: bytes) -> str:
        """The ticket granted to ``source`` that ``proof`` proves (used up), waiting for it
        to arrive; raises :class:`_Refused` when ``source`` holds none and never will."""
        book = self.book
        while True:
            now = trio.current_time()
            tickets = book.expected.get(source, [])
            for index, (ticket, expires) in enumerate(tickets):
                if expires > now and same_proof(proof, line_proof(ticket, nonce, accept=False)):
                    del tickets[index]
                    return ticket
            await book.arrived.wait()

    async def _dial(self, grant: LineGrant) -> None:
        target = grant.target_module_id
        stream: trio.SocketStream | None = None
        try:
            if grant.address != self._socket_of(target):
                raise _Refused(f"the grant names another socket ({grant.address!r})")
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                stream = await trio.open_unix_socket(grant.address)
                stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SEND_BUFFER)
                nonce = os.urandom(LINE_NONCE_SIZE)
                proof = line_proof(grant.ticket, nonce, accept=False)
                await stream.send_all(line_hello_frame(self.settings.module_id, nonce, proof))
                answer = parse_line_accept(await _first_frame(stream))
                if answer is None or not same_proof(
                    answer, line_proof(grant.ticket, nonce, accept=True)
                ):
                    raise _Refused(f"{target} did not prove the ticket")
        except (_Refused, trio.TooSlowError, trio.BrokenResourceError, OSError) as exc:
            self.book.quiet[target] = trio.current_time() + REFUSED_QUIET
            log.info("no direct line to %s (%s); requests to it go through the orchestrator",
                     target, exc or type(exc).__name__)  # fmt: skip
            if stream is not None:
                await trio.aclose_forcefully(stream)
            return
        line = Line(target, nonce.hex(), outgoing=True, stream=stream)
        state = await self._start(line)
        if state is None:
            return
        while not state.connected:
            if state.status is not ConnectionStatus.CONNECTING:
                return  # it ended before it was up
            await state.changed.wait()
        # The router fences the line and then publishes it, in the order of everything it
        # sends (so nothing it sent the peer before can come after the fence).
        router = self.subscriptions.target_of(LineReady)
        if router is None:
            await self._stop_line(state.name)
            return
        await self.ctx.system.tell(router, LineReady(line.peer, line.nonce, state.name))
        log.info("direct line to %s open (%s)", line.peer, state.name)

    def _socket_of(self, target: str) -> str | None:
        """Where ``target``'s line socket is: next to this module's channel socket, as the
        orchestrator gives every module its socket in one directory."""
        directory = os.path.dirname(self.settings.channel.address)
        return line_socket_path(os.path.join(directory, f"{target}.sock"))

    async def _start(self, line: Line) -> ChannelState | None:
        """Start the line's connection actor under ``pywatt.channels``; its state, or None
        when it could not start (the module is stopping): the socket is closed then."""
        settings = self.settings
        number = next(self.book.numbers)
        way = "to" if line.outgoing else "from"
        name = f"pywatt.channels.line.{way}.{line.peer}.{number}"
        config = attrs.evolve(
            settings.channel, address=settings.path, declaration=None, heartbeat_interval=None
        )
        state = ChannelState(name, config.kind, config.address, 0, config.max_frame_size)
        self.directory.line_states[name] = state

        def connection() -> LineConnection:
            return LineConnection(
                line,
                settings.module_id,
                config,
                state,
                self.directory,
                subscriptions=self.subscriptions,
                reply_sink=self.reply_sink,
                on_end=self._ended,
            )

        try:
            await self.ctx.system.spawn(
                connection, name=name, restart=Restart.TEMPORARY, supervisor="pywatt.channels"
            )
        except ActorError as exc:
            self.directory.line_states.pop(name, None)
            await trio.aclose_forcefully(line.stream)
            log.info("the line %s did not start: %s", name, exc)
            return None
        return state

    async def _stop_line(self, name: str) -> None:
        with contextlib.suppress(NoSuchActor):
            await self.ctx.system.stop(name)

    def _ended(self, line: Line, state: ChannelState) -> None:
        """A line's actor stopped: forget the line (in the line's own step)."""
        directory = self.directory
        if directory.lines.get(line.peer) is state:
            del directory.lines[line.peer]
        if line.outgoing:  # ask again soon (a line that never came up too)
            self.book.quiet[line.peer] = trio.current_time() + LOST_QUIET
        directory.line_states.pop(state.name, None)
        self.book.gates.pop((line.peer, line.nonce), None)


async def _first_frame(stream: trio.abc.Stream) -> bytes:
    """The payload of the one code-4 frame a peer sends before the line is up. Raises
    :class:`_Refused` for anything else (another format, more bytes, the end)."""
    decoder = FrameDecoder(_MAX_HANDSHAKE_FRAME)
    while True:
        data = await stream.receive_some(_MAX_HANDSHAKE_FRAME)
        if not data:
            raise _Refused("it closed the connection during the handshake")
        decoder.feed(data)
        try:
            frames = list(decoder.frames())
        except RemoteProtocolError as exc:
            raise _Refused(f"an unusable frame: {exc}") from None
        if frames:
            if len(frames) > 1 or decoder.buffered or frames[0].format is not FrameFormat.MSGPACK:
                raise _Refused("it sent more than the handshake frame, or another format")
            return frames[0].payload
