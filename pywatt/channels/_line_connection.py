"""One direct line to or from another pywatt module, as a connection actor.

A line is a :class:`~pywatt.channels.ChannelConnection` on a socket that is already open
and past its handshake (``_lines``): the same outbox, writer, reader and dispatch, with
three differences. What it reads is what the peer would have sent the orchestrator, turned
into what the orchestrator would have delivered, with the peer as the source
(``pywatt.wire.decode_line_frame``). A line from another module reads nothing until that
module's fence has come through the orchestrator (everything it sent that way before has
arrived by then), and gives up after :data:`FENCE_TIMEOUT`. It is never restarted: when it
ends (the peer stopped, restarted or broke the rules), the requests it carried fail at once
(``ConnectionLost``), and what the module sends the peer goes through the orchestrator again
until a new line is up.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import attrs
import trio

from pywatt.wire import DecodeError, Frame, decode_line_frame

from ._config import ChannelConfig
from ._connection import ChannelConnection, ReplySink
from ._directory import ChannelDirectory, ChannelState
from ._errors import ChannelBroken, ChannelProtocolError
from ._messages import ConnectionLost
from ._subscriptions import Subscriptions

__all__ = ["FENCE_TIMEOUT", "Line", "LineConnection"]

FENCE_TIMEOUT: Final = 30.0
"""Seconds a line from another module waits for that module's fence before it closes."""
STALL_LIMIT: Final = 5.0
"""Seconds a line may stay above its outbox's high-water mark (its peer reads nothing) before
it is closed: one module that stops reading never holds up its callers' routers."""
MALFORMED_RUN: Final = 10
"""Malformed frames in a row after which a line is closed."""


@attrs.define(eq=False)
class Line:
    """A line past its handshake: who is at the other end, and which way it goes."""

    peer: str
    nonce: str
    """The handshake's nonce (hex): the fence names the line by it."""
    outgoing: bool
    """This module opened it, to send ``peer`` its requests; else ``peer`` opened it."""
    stream: trio.abc.Stream
    gate: trio.Event = attrs.Factory(trio.Event)
    """Set when the peer's fence has come (a line from another module reads after it)."""


class LineConnection(ChannelConnection):
    """One direct line (see the module docstring)."""

    loss_level = logging.INFO  # a peer that restarts ends its lines: not worth a warning

    def __init__(
        self,
        line: Line,
        module_id: str,
        config: ChannelConfig,
        state: ChannelState,
        directory: ChannelDirectory,
        *,
        subscriptions: Subscriptions,
        reply_sink: ReplySink | None,
        on_end: Any,
    ) -> None:
        super().__init__(
            config,
            state,
            directory,
            subscriptions=subscriptions,
            opener=self._open,
            reply_sink=reply_sink,
        )
        self.line = line
        self.module_id = module_id
        self._on_end = on_end
        self._run_of_malformed = 0

    async def _run(self) -> None:
        # A line ends when its peer goes, restarts or breaks the rules: an ordinary end,
        # not a crash (nothing restarts it); the reason goes to the log and the router.
        try:
            await super()._run()
        except ChannelBroken as exc:
            self._end(exc)

    async def _write_loop(self, stream: trio.abc.Stream) -> None:
        try:
            await super()._write_loop(stream)
        except ChannelBroken as exc:
            self._end(exc)

    def _end(self, error: ChannelBroken) -> None:
        if self._error is None:
            self._error = error
        self.ctx.stop()

    async def _watch_stall(self) -> None:
        """Close the line once its peer has read nothing for :data:`STALL_LIMIT` seconds
        while frames wait (what waits for it fails as ``ChannelLost``; new traffic goes
        through the orchestrator, which never blocks on a module)."""
        outbox = self.outbox
        since: float | None = None
        while not outbox.closed:
            await trio.sleep(STALL_LIMIT / 5)
            if outbox.has_room:
                since = None
                continue
            now = trio.current_time()
            since = now if since is None else since
            if now - since >= STALL_LIMIT:
                self._end(self._broken(
                    f"{self.peer} read nothing for {STALL_LIMIT:g} s with {outbox.size} "
                    "bytes waiting; closing the line"
                ))  # fmt: skip
                return

    def _lost(self, reason: str) -> ConnectionLost:
        return ConnectionLost(self.name, reason, peer=self.line.peer)

    async def _open(self, config: ChannelConfig) -> trio.abc.Stream:
        return self.line.stream

    @property
    def peer(self) -> str:
        return f"module {self.line.peer}"

    def _decode(self, frame: Frame) -> Any:
        message = decode_line_frame(frame, self.line.peer, self.module_id)
        self._run_of_malformed = 0  # malformed frames are counted in a row
        return message

    def _malformed(self, size: int, error: DecodeError) -> None:
        # A peer is not trusted like the orchestrator: one line in the log when it ends,
        # and it ends after MALFORMED_RUN malformed frames in a row.
        self._run_of_malformed += 1
        if self._run_of_malformed >= MALFORMED_RUN:
            raise self._broken(
                f"{self.peer} sent {MALFORMED_RUN} malformed frames in a row (the last: "
                f"{error}); closing the line",
                ChannelProtocolError,
            )

    async def _before_reading(self) -> None:
        # Both ends are pywatt modules that declared MessagePack: requests and replies go
        # in the binary form (set before the first checkpoint, so before the line is used).
        self.state.streams = True
        self.ctx.start_task(self._watch_stall)
        if self.line.outgoing:
            return
        with trio.move_on_after(FENCE_TIMEOUT):
            await self.line.gate.wait()
            return
        raise self._broken(
            f"no fence from {self.line.peer} through the orchestrator within "
            f"{FENCE_TIMEOUT:g} s; closing the line"
        )

    async def on_stop(self) -> None:
        try:
            await super().on_stop()
        finally:
            self._on_end(self.line, self.state)
