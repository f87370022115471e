"""The channels actor: the one owner of the module's channel directory.

Registered as ``pywatt.channels.directory`` under ``pywatt.channels``, after the connection
supervisors. Everyone else talks to it with typed messages:

- :class:`Send` ``(frame, prefer)``: queue one complete frame on a connection; the reply is
  the connection's name (:class:`NoChannel` when none is up).
- :class:`Subscribe` ``(types, name)``: inbound messages of ``types`` go to actor ``name`` as
  :class:`ChannelInbound` (a few lifecycle notices, :class:`ConnectionLost` and
  :class:`ChannelFailed`, are sent bare).
- :class:`ChannelHealth` ``()``: a snapshot of every connection.
- :class:`GetWriter` ``()``: the :class:`Writer`, the one capability to write frames without a
  message per frame (the router's hot path; see :class:`Writer`).

The connection actors write their own :class:`ChannelState` in the directory; nothing outside
``pywatt.channels`` holds it. The channels actor watches each connection supervisor
(``ctx.monitor``): when one gives up (its reconnect policy is spent) the connection is marked
failed and a :class:`ChannelFailed` goes to its subscriber (the module, which stops when the
channel was required).

Restarts: the directory and the subscriptions are kept with the name (the spec hands the same
objects to every incarnation), so what other actors told it survives a crash. What belongs to
an incarnation is its :class:`Writer` (revoked when it ends: holders ask for the new one), its
monitors (made again on start; a supervisor that ended meanwhile is noticed then) and the
sends waiting for room (their askers get ``ActorCrashed`` or ``ActorStopped``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import attrs

from actors import Actor, ActorSystem, Down, NoSuchActor, Request, RestartIntensityExceeded

from ._config import ChannelConfig
from ._directory import ChannelDirectory, ChannelState, ChannelStatistics, ConnectionStatus
from ._errors import ChannelGaveUp, NoChannel
from ._messages import SendFrame
from ._subscriptions import Subscriptions

__all__ = [
    "CHANNELS_ACTOR",
    "ChannelFailed",
    "ChannelHealth",
    "ChannelsActor",
    "GetWriter",
    "Send",
    "Subscribe",
    "Writer",
    "WriterRevoked",
]

log = logging.getLogger("pywatt.channels")

CHANNELS_ACTOR: Final = "pywatt.channels.directory"
"""The registry name of the channels actor."""


class WriterRevoked(NoChannel):
    """The :class:`Writer` belonged to an incarnation of the channels actor that has ended:
    ask ``GetWriter()`` for the current one."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.args = (f"the channel writer was revoked (the channels actor restarted): {what}",)


class Writer:
    """The zero-copy write path, handed out by the channels actor (``GetWriter()``).

    :meth:`send` picks a connection as the channel preferences say and appends the frame to
    that connection's outbox: no message, no copy, at most one wake-up of its writer task.
    Above the outbox's high-water mark it waits for room (back-pressure); a connection marked
    up whose outbox is not published (it is ending) is told a ``SendFrame``, which its next
    incarnation writes. A writer is valid for one incarnation of the channels actor: once
    that ends, :attr:`revoked` is True and :meth:`send` raises :class:`WriterRevoked`; ask
    for the new one.
    """

    __slots__ = ("_directory", "_system", "revoked")

    def __init__(self, directory: ChannelDirectory, system: ActorSystem) -> None:
        self._directory = directory
        self._system = system
        self.revoked = False

    def _pick(self, prefer: str | None) -> ChannelState | None:
        directory = self._directory
        state = directory.find(prefer)
        if state is None or state.status is not ConnectionStatus.CONNECTED:
            state = directory.pick()
        return state

    def publish_line(self, peer: str, channel: str) -> bool:
        """Let the direct line ``channel`` carry what this module sends ``peer`` (once its
        fence is queued: the router's ``LineReady``); False if it is no longer up."""
        directory = self._directory
        state = directory.line_states.get(channel)
        if self.revoked or state is None or state.status is not ConnectionStatus.CONNECTED:
            return False
        directory.lines[peer] = state
        return True

    def line_fenced(self, peer: str, nonce: str) -> None:
        """``peer``'s fence for its line ``nonce`` came through the orchestrator: the line
        may be read from now on. Does not block."""
        fenced = self._directory.fenced
        if fenced is not None:
            fenced(peer, nonce)

    def line(self, target: str) -> str | None:
        """The direct line to module ``target`` if one is up (pass it as ``prefer``), else
        None; then the lines actor, if one runs, is told that ``target`` is talked to (it
        asks the orchestrator for a line, at most now and then). Does not block."""
        directory = self._directory
        state = directory.lines.get(target)
        if state is not None and state.status is ConnectionStatus.CONNECTED:
            return state.name
        want = directory.want_line
        if want is not None:
            want(target)
        return None

    def offer(self, frame: bytes, prefer: str | None = None) -> str | None:
        """Queue ``frame`` if a connection is up and has room now; returns its name, or None
        (then use :meth:`send`, which waits). Does not block."""
        if self.revoked:
            return None
        state = self._pick(prefer)
        if state is None:
            return None
        outbox = state.outbox
        if outbox is not None and outbox.offer(frame):
            return state.name
        return None

    def binary(self, prefer: str | None = None) -> bool:
        """Whether the connection :meth:`offer` would pick now has both ends declared
        MessagePack, so a request or reply may go there in the binary form
        (``pywatt.wire.binary_route_frame``). A module's connections all go to one
        orchestrator and declare the same formats, so the answer holds for the connection
        :meth:`send` picks after a wait too. Does not block."""
        state = None if self.revoked else self._pick(prefer)
        return state is not None and state.streams

    async def send(self, frame: bytes, prefer: str | None = None, what: str = "a frame") -> str:
        """Queue ``frame`` on ``prefer`` if it is up, else on the connection the preferences
        pick, waiting for room; returns the connection's name. Raises :class:`NoChannel`
        (:class:`WriterRevoked` when this writer is no longer valid)."""
        if self.revoked:
            raise WriterRevoked(what)
        state = self._pick(prefer)
        if state is None:
            raise NoChannel(what)
        while True:
            outbox = state.outbox
            if outbox is None or outbox.closed:
                if state.name not in self._directory.states:  # a direct line that ended:
                    # nothing writes for it later; the frame goes the orchestrator's way
                    state = self._directory.pick()
                    if state is None:
                        raise NoChannel(what)
                    continue
                break
            if outbox.offer(frame):
                return state.name
            await outbox.wait_room()
        await self._system.tell(state.name, SendFrame(frame))
        return state.name

    # -- for streams: frames that must stay on the connection their stream runs on --------

    def stream_channel(self) -> tuple[str, bool] | None:
        """The connection a new stream goes on (as the preferences pick) and whether it
        carries streams (both ends declared MessagePack); None when none is up."""
        state = self._directory.pick()
        return None if state is None else (state.name, state.streams)

    def put_on(self, channel: str, frame: bytes) -> bool:
        """Queue a small control ``frame`` on ``channel`` now, past the high-water mark;
        False when that connection is gone or this writer is revoked."""
        state = None if self.revoked else self._directory.find(channel)
        outbox = state.outbox if state is not None else None
        if outbox is None or outbox.closed:
            return False
        outbox.put(frame)
        return True

    def offer_on(self, channel: str, frame: bytes) -> bool:
        """Queue ``frame`` on ``channel`` if it is up and below the high-water mark now;
        False otherwise (then :meth:`write_on` waits or says it is gone). Does not block."""
        state = None if self.revoked else self._directory.find(channel)
        outbox = state.outbox if state is not None else None
        return outbox is not None and outbox.offer(frame)

    async def write_on(self, channel: str, frame: bytes) -> bool:
        """Queue ``frame`` on ``channel``, waiting for room; False when that connection is
        gone. Raises :class:`WriterRevoked` when this writer is no longer valid."""
        state = self._directory.find(channel)
        while state is not None:
            if self.revoked:
                raise WriterRevoked("a stream frame")
            outbox = state.outbox
            if outbox is None or outbox.closed:
                return False
            if outbox.offer(frame):
                return True
            await outbox.wait_room()
        return False


@attrs.frozen
class Send(Request[str]):
    """Queue one complete frame (the bytes of ``encode_frame``) on connection ``prefer`` if it
    is up, else on the one the channel preferences pick; the reply is the connection's name.
    Fails with :class:`NoChannel` when no connection is up (``what`` names the frame)."""

    frame: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    prefer: str | None = None
    what: str = "a frame"


@attrs.frozen
class Subscribe(Request[None]):
    """Inbound messages of ``types``, on any connection, go to actor ``name`` from now on;
    kept across restarts of the channels actor."""

    types: tuple[type[Any], ...]
    name: str


@attrs.frozen
class ChannelHealth(Request[list[ChannelStatistics]]):
    """A snapshot of every connection (status, counts, last error)."""


@attrs.frozen
class GetWriter(Request[Writer]):
    """The current :class:`Writer`."""


@attrs.frozen
class ChannelFailed:
    """Sent to the subscriber of ``ChannelFailed``: a connection's reconnect policy gave up.
    ``required``: the channel was required (the module should stop)."""

    channel: str
    error: ChannelGaveUp
    required: bool


@attrs.frozen
class Connection:
    """What the channels actor knows of one connection it watches."""

    config: ChannelConfig
    state: ChannelState
    supervisor: str


ChannelsMessage = Send | Subscribe | ChannelHealth | GetWriter | Down


class ChannelsActor(Actor[ChannelsMessage]):
    """Registered as ``pywatt.channels.directory`` (see the module docstring)."""

    reply_errors = (NoChannel,)

    def __init__(
        self,
        directory: ChannelDirectory,
        subscriptions: Subscriptions,
        connections: Iterable[Connection] = (),
    ) -> None:
        self.directory = directory
        self.subscriptions = subscriptions
        self.connections = {c.supervisor: c for c in connections}

    async def on_start(self) -> None:
        self.writer = Writer(self.directory, self.ctx.system)
        for supervisor, connection in self.connections.items():
            if connection.state.status not in (ConnectionStatus.FAILED, ConnectionStatus.CLOSED):
                self.ctx.monitor(supervisor)

    async def on_stop(self) -> None:
        self.writer.revoked = True

    async def receive(self, message: ChannelsMessage) -> Any:
        if isinstance(message, Send):
            name = self.writer.offer(message.frame, message.prefer)
            if name is not None:
                return name
            if self.writer._pick(message.prefer) is None:
                raise NoChannel(message.what)
            reply = self.ctx.defer_reply()  # full outbox: wait for room beside the mailbox

            async def send() -> None:
                try:
                    reply.reply(await self.writer.send(message.frame, message.prefer,
                                                          message.what))  # fmt: skip
                except NoChannel as exc:
                    reply.fail(exc)

            self.ctx.start_task(send)
            return None
        if isinstance(message, GetWriter):
            return self.writer
        if isinstance(message, ChannelHealth):
            return self.directory.statistics()
        if isinstance(message, Subscribe):
            self.subscriptions.add(message.types, message.name)
            return None
        self._down(message)
        return None

    def _down(self, down: Down) -> None:
        connection = self.connections.get(down.name)
        if connection is None:
            return
        state = connection.state
        ended = (ConnectionStatus.FAILED, ConnectionStatus.CLOSED)
        if down.reason is None or state.status in ended:
            return  # stopped on purpose (the module is stopping), or reported already
        if not isinstance(down.reason, RestartIntensityExceeded | NoSuchActor):
            return
        last = state.last_error or "unknown error"
        state.set_status(ConnectionStatus.FAILED)
        self.directory.notify()
        error = ChannelGaveUp(state.name, state.address, state.consecutive_failures, last)
        required = connection.config.required
        if required:
            log.error("%s; the module goes down", error)
        else:
            log.error(
                "channel %s (%s) gave up after %d failed attempt(s): %s; it is not required, "
                "the module goes on without it",
                state.name,
                state.address,
                state.consecutive_failures,
                last,
            )
        target = self.subscriptions.target_of(ChannelFailed)
        if target is not None:
            self.ctx.system.tell_nowait(target, ChannelFailed(state.name, error, required))
